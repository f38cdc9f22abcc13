"""Fixtures of the page tests: one headless Chromium tab per module, and the page saved
to disk as its links lay it out."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.api.routes.web import ASSETS
from tests.web.chromium import Chromium, Page, require_chromium

WEB = Path(__file__).parents[2] / "ledger" / "web"


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The page saved to disk as its links lay it out (verify.html, verify/assets/...)."""
    folder = tmp_path_factory.mktemp("saved-page")
    (folder / "verify" / "assets").mkdir(parents=True)
    shutil.copy(WEB / "verify.html", folder / "verify.html")
    for name in ASSETS:
        shutil.copy(WEB / name, folder / "verify" / "assets" / name)
    return (folder / "verify.html").as_uri()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Page]:
    browser = Chromium(require_chromium(), tmp_path_factory.mktemp("chromium-profile"))
    try:
        tab = browser.page()
        try:
            yield tab
        finally:
            tab.close()
    finally:
        browser.stop()
