"""No crash test leaves a service behind, whatever it failed on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.crash.support import STARTED


@pytest.fixture(autouse=True)
def _kill_leftovers() -> Iterator[None]:
    yield
    while STARTED:
        STARTED.pop().kill()
