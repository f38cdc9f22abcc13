"""One error hierarchy: every exception class the package defines derives from
`ledger.core.errors.LedgerError`, so the CLI and the API can tell the project's
refusals from bugs with one `except`; refused input is also a ValueError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import ledger
from ledger.core.errors import InputError, LedgerError
from ledger.core.merkle import ProofError
from ledger.core.records import RecordError
from ledger.errors import InvalidRequestError
from ledger.formats.identity import IdentityError
from ledger.store.repository import StoreError


def defined_exceptions() -> list[type[BaseException]]:
    """Every exception class defined (not imported) in a module of the package."""
    found: list[type[BaseException]] = []
    for info in pkgutil.walk_packages(ledger.__path__, "ledger."):
        if ".migrations" in info.name or info.name == "ledger.__main__":
            continue
        module = importlib.import_module(info.name)
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == info.name:
                found.append(value)
    return found


def test_every_error_of_the_package_is_a_ledger_error() -> None:
    errors = defined_exceptions()
    assert len(errors) >= 60, [e.__name__ for e in errors]  # the walk found the package
    strays = [f"{e.__module__}.{e.__qualname__}" for e in errors if not issubclass(e, LedgerError)]
    assert strays == []


@pytest.mark.parametrize(
    "error", [RecordError, ProofError, IdentityError, InvalidRequestError], ids=lambda e: e.__name__
)
def test_refused_input_is_an_input_error_and_a_value_error(error: type[Exception]) -> None:
    assert issubclass(error, InputError) and issubclass(error, ValueError)


def test_machinery_errors_keep_their_runtime_error_mixin() -> None:
    assert issubclass(StoreError, LedgerError) and issubclass(StoreError, RuntimeError)
    assert not issubclass(StoreError, InputError)
