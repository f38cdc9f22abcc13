"""Health and metrics (public)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from ledger.api.deps import Services, ServicesDep
from ledger.api.schemas import Health
from ledger.formats.note import parse_vkey
from ledger.store.licences import LicenceRepository
from ledger.store.witness import CosignatureRepository

router = APIRouter(tags=["health"])


def _status(services: Services) -> dict[str, Any]:
    state = services.store.state()
    pending = services.store.pending_count()
    anchor = None
    if services.anchors.deployment() is not None:
        latest = services.anchors.latest_confirmed()
        size = 0 if latest is None else latest.tree_size
        age = None
        if latest is not None and latest.block_timestamp is not None:
            age = max(0, int(time.time()) - latest.block_timestamp)
        waiting = services.anchors.open_anchors()
        anchor = {
            "anchored_size": size,
            "lag_entries": state.tree_size - size,
            "last_anchor_age_seconds": age,
            "last_error": waiting[0].last_error if waiting else None,
            "last_gas_used": None if latest is None else latest.gas_used,
        }
    queue = LicenceRepository(services.store).issuer_state()
    licences = {
        "pending": queue.pending,
        "submitted": queue.submitted,
        "failed": queue.failed,
        "failing": queue.failing,
        "last_error": queue.last_error,
    }
    return {
        "status": "degraded" if queue.failing else "ok",
        "tree_size": state.tree_size,
        "pending": pending,
        "anchor": anchor,
        "licences": licences,
        "witnessing": _witnessing(services, state.tree_size),
    }


def _witnessing(services: Services, tree_size: int) -> dict[str, Any] | None:
    """M of N: how many configured witnesses cosigned the latest checkpoint, and the
    largest size that counts as published (None: no witness configured)."""
    if not services.witnesses:
        return None
    keys = [(k.name, k.key_id) for k in (parse_vkey(v) for v in services.witnesses)]
    repo = CosignatureRepository(services.store)
    cosigned = {(c.witness, c.key_id) for c in repo.for_size(tree_size)} & set(keys)
    published = repo.published_size(keys, services.witness_quorum)
    return {
        "witnesses": len(keys),
        "quorum": services.witness_quorum,
        "cosigned": len(cosigned),
        "published": len(cosigned) >= services.witness_quorum,
        "published_size": published,
    }


@router.get("/healthz", response_model=Health)
def read_health(services: ServicesDep) -> dict[str, Any]:
    """Liveness: tree size, pending entries, anchoring lag, licence calls, witnessing (M of N \
cosigned); degraded while a licence call failed."""
    return _status(services)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@router.get("/metrics", response_class=PlainTextResponse)
def read_metrics(services: ServicesDep) -> PlainTextResponse:
    """Prometheus text format: sizes, lag, licence calls, accepted entries, requests."""
    status = _status(services)
    lines = [
        "# HELP ledger_tree_size Entries in the latest checkpoint.",
        "# TYPE ledger_tree_size gauge",
        f"ledger_tree_size {status['tree_size']}",
        "# HELP ledger_pending_entries Entries stored but not yet sequenced.",
        "# TYPE ledger_pending_entries gauge",
        f"ledger_pending_entries {status['pending']}",
    ]
    anchor = status["anchor"]
    if anchor is not None:
        lines += [
            "# HELP ledger_anchored_tree_size Largest tree size confirmed on chain.",
            "# TYPE ledger_anchored_tree_size gauge",
            f"ledger_anchored_tree_size {anchor['anchored_size']}",
            "# HELP ledger_anchor_lag_entries Sealed entries not yet anchored.",
            "# TYPE ledger_anchor_lag_entries gauge",
            f"ledger_anchor_lag_entries {anchor['lag_entries']}",
        ]
        if anchor["last_gas_used"] is not None:
            lines += [
                (
                    "# HELP ledger_anchor_gas_used Gas used by the"
                    " transaction of the latest confirmed anchor."
                ),
                "# TYPE ledger_anchor_gas_used gauge",
                f"ledger_anchor_gas_used {anchor['last_gas_used']}",
            ]
        if anchor["last_anchor_age_seconds"] is not None:
            lines += [
                (
                    "# HELP ledger_anchor_age_seconds Seconds since"
                    " the block of the latest confirmed anchor."
                ),
                "# TYPE ledger_anchor_age_seconds gauge",
                f"ledger_anchor_age_seconds {anchor['last_anchor_age_seconds']}",
            ]
    witnessing = status["witnessing"]
    if witnessing is not None:
        lines += [
            "# HELP ledger_witness_cosignatures Witnesses that cosigned the latest checkpoint.",
            "# TYPE ledger_witness_cosignatures gauge",
            f"ledger_witness_cosignatures {witnessing['cosigned']}",
            "# HELP ledger_witness_quorum Witnesses that must cosign a checkpoint (M of N).",
            "# TYPE ledger_witness_quorum gauge",
            f"ledger_witness_quorum {witnessing['quorum']}",
            "# HELP ledger_published_tree_size Largest tree size M of N witnesses cosigned.",
            "# TYPE ledger_published_tree_size gauge",
            f"ledger_published_tree_size {witnessing['published_size']}",
        ]
    licences = status["licences"]
    lines += [
        (
            "# HELP ledger_licence_calls LicenceRegistry calls by"
            " state: pending, submitted, failed (refused for good)."
        ),
        "# TYPE ledger_licence_calls gauge",
    ]
    lines += [
        f'ledger_licence_calls{{status="{state}"}} {licences[state]}'
        for state in ("pending", "submitted", "failed")
    ]
    lines += [
        (
            "# HELP ledger_licence_calls_failing Failed LicenceRegistry"
            " calls that still matter (/healthz degraded while > 0)."
        ),
        "# TYPE ledger_licence_calls_failing gauge",
        f"ledger_licence_calls_failing {licences['failing']}",
        (
            "# HELP ledger_licence_issuer_error 1 while a registry call"
            " not confirmed keeps an error (see /healthz), else 0."
        ),
        "# TYPE ledger_licence_issuer_error gauge",
        f"ledger_licence_issuer_error {0 if licences['last_error'] is None else 1}",
    ]
    metrics = services.metrics
    with metrics.lock:
        accepted = metrics.entries_accepted
        requests = sorted(metrics.requests.items())
    lines += [
        "# HELP ledger_entries_accepted_total Entries accepted by this process.",
        "# TYPE ledger_entries_accepted_total counter",
        f"ledger_entries_accepted_total {accepted}",
        "# HELP ledger_http_requests_total HTTP requests by method, route and status.",
        "# TYPE ledger_http_requests_total counter",
    ]
    lines += [
        f'ledger_http_requests_total{{method="{_label(m)}",route="{_label(r)}",status="{s}"}} {n}'
        for (m, r, s), n in requests
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
