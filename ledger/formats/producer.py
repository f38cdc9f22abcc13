"""Which software wrote a document: `mledger X.Y.Z`.

Every report and evidence file the tools write names its producer (the `producer` field,
docs/evidence-format.md). It is a note for people, outside what is signed or hashed:
verifiers accept any string there and never trust it."""

from __future__ import annotations

from functools import cache
from importlib import metadata

import ledger

DISTRIBUTION = "mledger"
"""The name on PyPI (`pip install mledger`) and of the command."""


@cache
def version() -> str:
    """The installed distribution's version; the package's own from a checkout that was
    not installed (pyproject.toml takes its version from `ledger.__version__`)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return ledger.__version__


def producer() -> str:
    """`mledger X.Y.Z`: the value of every `producer` field."""
    return f"{DISTRIBUTION} {version()}"
