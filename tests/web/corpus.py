"""The shared corpus (tests/vectors/): its manifest, its files, and one JavaScript routine
that runs every vector through the page's core, used under Node and in Chromium alike."""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]
VECTORS = ROOT / "tests" / "vectors"

RUN_VECTORS = r"""
async function runVectors(core, J, input) {
  const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  function tagged(value) {
    if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
    if (typeof value === 'bigint') return { $int: value.toString() };
    if (Array.isArray(value)) return value.map(tagged);
    return { $obj: Object.keys(value).map((key) => [key, tagged(value[key])]) };
  }
  function outcome(result) {
    const out = { verdict: result.verdict };
    if (result.error) out.check = result.error.check;
    if (result.error && result.error.field) out.field = result.error.field;
    if (result.error && result.error.check === 'verifier') out.message = result.error.message;
    if (result.licence) out.commitment = result.licence.commitment;
    if (result.kind !== 'licence') {
      out.statement = result.statement;
      out.checks = result.checks.map((c) => [c.check, c.passed, c.detail]);
    }
    return out;
  }
  const identities = {};
  for (const [path, b64] of Object.entries(input.identities)) {
    identities[path] = core.parseIdentity(bytes(b64));
  }
  const out = [];
  for (const v of input.vectors) {
    const data = bytes(v.data);
    if (v.kind === 'json') {
      try {
        const value = tagged(J.loadStrict(data, 64 * 1024 * 1024));
        out.push({ expect: { verdict: 'accepted', value } });
      } catch (error) {
        if (!(error instanceof J.StrictJsonError)) throw error;
        out.push({ expect: { verdict: 'refused' } });
      }
    } else if (v.kind === 'identity') {
      try {
        core.parseIdentity(data);
        out.push({ expect: { verdict: 'accepted' } });
      } catch (error) {
        if (!(error instanceof core.IdentityError)) throw error;
        out.push({ expect: { verdict: 'refused', field: error.field } });
      }
    } else {
      const check = v.kind === 'licence' ? core.checkLicence : core.verifyEvidence;
      out.push({
        offline: outcome(await check(data, {})),
        pinned: outcome(await check(data, { identity: identities[v.identity] })),
      });
    }
  }
  return out;
}
"""
"""`runVectors(core, J, payload())` -> one outcome per vector, as `python_outcomes` has them."""


@cache
def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((VECTORS / "vectors.json").read_text(encoding="utf-8"))
    for vector in loaded["vectors"]:
        vector.setdefault("identity", loaded["identity"])
    return loaded


def vectors() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = manifest()["vectors"]
    return found


def data(vector: dict[str, Any]) -> bytes:
    path: str = vector["file"]
    return (VECTORS / path).read_bytes()


def expected(vector: dict[str, Any]) -> dict[str, Any]:
    """The manifest's outcomes of a vector, by mode."""
    if vector["kind"] in ("json", "identity"):
        return {"expect": vector["expect"]}
    return {"offline": vector["offline"], "pinned": vector["pinned"]}


def payload() -> dict[str, Any]:
    """Every vector and identity, base64, for `runVectors`."""

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return {
        "identities": {
            v["identity"]: b64((VECTORS / v["identity"]).read_bytes()) for v in vectors()
        },
        "vectors": [
            {"kind": v["kind"], "identity": v["identity"], "data": b64(data(v))} for v in vectors()
        ],
    }


def comparable(outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The page's outcomes with object members in one order (JavaScript lists integer-like
    keys first)."""

    def sort_members(obj: dict[str, Any]) -> dict[str, Any]:
        return {"$obj": sorted(obj["$obj"])} if set(obj) == {"$obj"} else obj

    out: list[dict[str, Any]] = json.loads(json.dumps(outcomes), object_hook=sort_members)
    return out


def differences(
    outcomes: list[dict[str, Any]],
    *,
    ignore: tuple[str, ...] = ("value", "commitment", "statement", "checks"),
) -> list[str]:
    """Where `outcomes` differ from the manifest's (leaving out `ignore`)."""
    wrong = []
    for vector, found in zip(vectors(), outcomes, strict=True):
        got = {
            mode: {k: v for k, v in outcome.items() if k not in ignore}
            for mode, outcome in found.items()
        }
        if got != expected(vector):
            wrong.append(f"{vector['file']}: expected {expected(vector)}, got {got}")
    return wrong
