"""The verification page (public): static files shipped in ledger/web.

The page checks an evidence bundle, an evidence pack or a licence in the browser, as
`mledger verify` and `mledger licence check` do, trusting only mathematics, the chain it
reads over JSON-RPC and the log identity its user pins; the service only hands out the
files (which also work saved to disk: verify.html beside verify/assets/).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from ledger.errors import NotFoundError

router = APIRouter(tags=["verification page"])

_SCRIPT = "text/javascript; charset=utf-8"

ASSETS = {
    "verify-json.js": _SCRIPT,
    "verify-records.js": _SCRIPT,
    "verify-merkle.js": _SCRIPT,
    "verify-rpc.js": _SCRIPT,
    "verify-documents.js": _SCRIPT,
    "verify-core.js": _SCRIPT,
    "verify-completeness.js": _SCRIPT,
    "verify-note.js": _SCRIPT,
    "verify-page.js": _SCRIPT,
    "verify.css": "text/css; charset=utf-8",
}
"""The files /verify/assets/ serves, and their media types."""

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src data:;"
    " connect-src http: https:; base-uri 'none'; form-action 'none'"
)
"""The page's Content-Security-Policy, also in verify.html's <meta> (so a saved copy keeps
it): its own scripts and style sheet and nothing else (no inline code, no other site);
JSON-RPC to whatever http(s) node the user names."""

CONTENT_SECURITY_POLICY = PAGE_POLICY + "; frame-ancestors 'none'"
"""PAGE_POLICY, and no framing (which only a header can say)."""

_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # A page on another origin that opens this one gets no handle on it: it cannot change
    # its fragment (#log=...) while the user reviews the log it carries, nor script it.
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@lru_cache(maxsize=len(ASSETS) + 1)
def _read(name: str) -> bytes:
    return resources.files("ledger").joinpath("web", name).read_bytes()


@router.get("/verify", include_in_schema=False)
def read_verify_page() -> Response:
    """The verification page: pin a log identity, then paste or upload an evidence bundle,
    an evidence pack or a licence."""
    return Response(_read("verify.html"), media_type="text/html; charset=utf-8", headers=_HEADERS)


@router.get("/verify/assets/{name}", include_in_schema=False)
def read_verify_asset(name: str) -> Response:
    """A script or style sheet of the verification page."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFoundError(f"no such file of the verification page: {name!r}")
    return Response(_read(name), media_type=media_type, headers=_HEADERS)
