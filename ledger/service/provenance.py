"""Model provenance, service side: registering a model version, and the lineage of a
model back to its roots with evidence for every node.

A model artefact is registered as an ordinary `model` record (ledger.core.records): its
model id, version, artefact digest and parents, each with its relation (fine-tune,
distillation, quantization, merge). Registration (`register_model`, behind the admin
route POST /v1/models) keeps the graph well founded: each parent must already be
registered, and a (model id, version) is registered once. The record and its
registration are stored together (ledger.store.models).

Lineage reads registrations only. A model record that entered the log another way (an
admin key on POST /v1/entries, `mledger ingest`) is in the log but registers nothing, so
it can neither take a version from its owner nor appear in a lineage. The walk is still
defensive: a parent never registered is shown as such, every registration is listed
once however many paths lead to it, and the walk stops at MAX_LINEAGE_DEPTH generations
and MAX_LINEAGE_NODES registrations.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger.core.records import Entry, RecordError
from ledger.errors import LedgerError, NotAnchoredError, NotFoundError
from ledger.formats.cosignature import WitnessPolicy
from ledger.service.evidence import build_evidence
from ledger.store.anchors import AnchorRepository
from ledger.store.models import ModelKey, ModelRepository
from ledger.store.repository import Store

MAX_LINEAGE_DEPTH = 32
"""Most generations of ancestors listed above a model's own versions (depth 0)."""

MAX_LINEAGE_NODES = 256
"""Most registrations (versions and ancestors) one lineage lists; each carries its own
evidence bundle, so this bounds the work of one request."""

MAX_REGISTRATIONS_READ = 10_000
"""Most model records read in one step of the walk (every version of the models one
generation names)."""


class AlreadyRegisteredError(LedgerError):
    """This model version is registered already; a version names one artefact."""


class UnregisteredParentError(RecordError):
    """A parent of a new model record is not registered (`field` names which)."""


@dataclass(frozen=True)
class Registration:
    """A model record in the log: its body and where it sits."""

    leaf_hash: bytes
    seq: int
    ts: str
    leaf_index: int | None
    record: dict[str, Any]

    @property
    def key(self) -> tuple[str, str]:
        """(model id, version)."""
        body = self.record["body"]
        return body["model_id"], body["version"]

    @property
    def parents(self) -> list[dict[str, str]]:
        """The parents the record names: model_id, version, relation."""
        parents: list[dict[str, str]] = self.record["body"].get("parents", [])
        return parents


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _registrations(store: Store, model_ids: Iterable[str]) -> list[Registration]:
    """Every registration of `model_ids`, in arrival order (at most MAX_REGISTRATIONS_READ)."""
    found = ModelRepository(store).registrations(set(model_ids), MAX_REGISTRATIONS_READ)
    return [
        Registration(r.leaf_hash, r.seq, r.ts, r.leaf_index, json.loads(r.record)) for r in found
    ]


def _first_of_each(registrations: Iterable[Registration]) -> dict[tuple[str, str], Registration]:
    """The first registration of each (model id, version): the one that resolves it."""
    first: dict[tuple[str, str], Registration] = {}
    for registration in registrations:
        first.setdefault(registration.key, registration)
    return first


def _describe(model_id: str, version: str) -> str:
    return f"model {model_id!r} version {version!r}"


def register_model(store: Store, entry: Entry) -> int:
    """Register the model record `entry` (ledger.store.models): store it with its
    registration and return its seq. Refused, storing nothing, when its version is
    registered already (AlreadyRegisteredError) or when it names a parent that is not
    (UnregisteredParentError, its field `body.parents.N`)."""
    body = json.loads(entry.canonical)["body"]
    own: ModelKey = (body["model_id"], body["version"])
    parents: list[dict[str, str]] = body.get("parents", [])
    named = [(parent["model_id"], parent["version"]) for parent in parents]

    def check(registered: Mapping[ModelKey, bytes]) -> None:
        if own in registered:
            raise AlreadyRegisteredError(
                f"{_describe(*own)} is already registered (leaf hash {_hex(registered[own])});"
                " a version names one artefact: register the new artefact under a new version"
            )
        for number, key in enumerate(named):
            if key == own:
                raise UnregisteredParentError(
                    f"body.parents.{number}", f"{_describe(*key)} cannot be its own parent"
                )
            if key not in registered:
                raise UnregisteredParentError(
                    f"body.parents.{number}",
                    f"{_describe(*key)} is not registered: register the parent first",
                )

    return ModelRepository(store).register(entry, own, named, check)


def _node(
    store: Store,
    anchors: AnchorRepository,
    registration: Registration,
    depth: int,
    resolved: dict[tuple[str, str], Registration],
    witnesses: WitnessPolicy | None,
) -> dict[str, Any]:
    """One registration as the lineage shows it, with its evidence when anchored (and,
    with the log's `witnesses`, published)."""
    evidence: dict[str, Any] | None = None
    if registration.leaf_index is None:
        status = "pending"
    else:
        try:
            evidence = build_evidence(store, anchors, registration.leaf_hash, witnesses=witnesses)
            status = "anchored"
        except NotAnchoredError:  # sealed, but no confirmed (or published) anchor covers it
            status = "sequenced"
    model_id, version = registration.key
    parents = []
    for parent in registration.parents:
        found = resolved.get((parent["model_id"], parent["version"]))
        parents.append(
            {
                "model_id": parent["model_id"],
                "version": parent["version"],
                "relation": parent["relation"],
                "leaf_hash": None if found is None else _hex(found.leaf_hash),
            }
        )
    return {
        "model_id": model_id,
        "version": version,
        "artifact_sha256": registration.record["body"]["artifact_sha256"],
        "depth": depth,
        "leaf_hash": _hex(registration.leaf_hash),
        "leaf_index": registration.leaf_index,
        "ts": registration.ts,
        "parents": parents,
        "status": status,
        "record": registration.record,
        "evidence": evidence,
    }


def lineage(
    store: Store,
    anchors: AnchorRepository,
    model_id: str,
    *,
    max_depth: int = MAX_LINEAGE_DEPTH,
    max_nodes: int = MAX_LINEAGE_NODES,
    witnesses: WitnessPolicy | None = None,
) -> dict[str, Any]:
    """The versions of `model_id` and every registration their parents lead to.

    Returns ``{"model_id", "versions": [node], "ancestors": [node], "truncated"}``; a
    node is one registration (model_id, version, artifact_sha256, depth, leaf_hash,
    leaf_index, ts, parents, status, record, evidence). Versions come in arrival order,
    ancestors generation by generation (breadth first). A parent's `leaf_hash` is its
    first registration's, or null if it was never registered. `truncated` is true
    when a limit stopped the walk. With the log's `witnesses`, evidence is built against
    the earliest published anchor, as every bundle is. Raises NotFoundError for a model
    never registered.
    """
    versions = _registrations(store, [model_id])
    if not versions:
        raise NotFoundError(f"no model {model_id!r} is registered")
    truncated = len(versions) > max_nodes or len(versions) == MAX_REGISTRATIONS_READ
    frontier = versions[:max_nodes]
    listed = {registration.leaf_hash for registration in frontier}
    generations: list[list[dict[str, Any]]] = []
    depth = 0
    while frontier:
        # One read resolves every parent this generation names.
        wanted = {
            parent["model_id"] for registration in frontier for parent in registration.parents
        }
        named = _registrations(store, wanted)
        truncated = truncated or len(named) == MAX_REGISTRATIONS_READ
        resolved = _first_of_each(named)
        generation, next_frontier = [], []
        for registration in frontier:
            generation.append(_node(store, anchors, registration, depth, resolved, witnesses))
            for parent in registration.parents:
                found = resolved.get((parent["model_id"], parent["version"]))
                if found is None or found.leaf_hash in listed:
                    continue  # never registered, or listed already (a shared ancestor or a cycle)
                if depth + 1 > max_depth or len(listed) >= max_nodes:
                    truncated = True
                    continue
                listed.add(found.leaf_hash)
                next_frontier.append(found)
        generations.append(generation)
        frontier = next_frontier
        depth += 1
    return {
        "model_id": model_id,
        "versions": generations[0],
        "ancestors": [node for generation in generations[1:] for node in generation],
        "truncated": truncated,
    }
