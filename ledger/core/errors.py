"""The one root of every error model-ledger raises on purpose.

Everything the project refuses or cannot do derives from `LedgerError`, so a caller
(the CLI, the API's problem+json mapping, a library user) can tell the project's
refusals from bugs with one `except`. Input that cannot be accepted (a record, a
document, a proof, a query, a setting) is an `InputError`, which is also a
`ValueError` for callers that expect one; errors of the machinery around the input
(storage, keystores) mix in `RuntimeError` where they are defined.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error model-ledger raises on purpose."""


class InputError(LedgerError, ValueError):
    """Input that cannot be accepted: refused, and nothing was changed."""
