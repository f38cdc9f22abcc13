"""`mledger monitor`: follow a pinned log's anchors on chain and alert on any anomaly."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from ledger.formats.identity import LogIdentity
    from ledger.verify.monitor import Finding, Seen

from ledger.cli.common import FROM_SETTINGS, ChainRpcUrl, LogFile, app, emit, fail, pinned_identity

EXIT_ANOMALY = 1
"""An anomaly was found (printed as an `anomaly` line, and as ALERT on stderr)."""

EXIT_USAGE = 2
"""Bad arguments or an unreadable state file."""

EXIT_CHAIN_UNAVAILABLE = 3
"""The chain could not be read (with --once; otherwise the monitor retries)."""

MAX_ANSWER_BYTES = 1 << 20
"""Largest answer read from the service."""


SERVICE_DEADLINE = 20.0
"""Seconds one answer of the service may take in all, by default (a service that drips
its answer byte by byte is cut off, and that is an anomaly): --service-timeout."""


_deadline = [SERVICE_DEADLINE]


def _service_json(url: str, path: str, params: dict[str, int] | None = None) -> Any:
    """A JSON answer of the service, bounded in size and time; None if it answers
    anything else, too much, or too slowly."""
    import httpx

    from ledger.formats.strict_json import StrictJsonError, load_strict

    deadline = time.monotonic() + _deadline[0]
    try:
        with httpx.stream(
            "GET", url.rstrip("/") + path, params=params, timeout=_deadline[0] / 2
        ) as answer:
            if answer.status_code != 200:
                return None
            body = b""
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES or time.monotonic() > deadline:
                    return None
    except httpx.HTTPError:
        return None
    try:
        return load_strict(body, MAX_ANSWER_BYTES, f"{url}{path}")
    except StrictJsonError:
        return None


def _hashes(values: Any) -> list[bytes] | None:
    if not isinstance(values, list):
        return None
    try:
        return [bytes.fromhex(v[2:]) for v in values if isinstance(v, str) and v[:2] == "0x"]
    except ValueError:
        return None


def _save(path: Path, state: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(state, indent=1) + "\n", encoding="utf-8")
    os.replace(partial, path)


@app.command()
def monitor(
    rpc_url: ChainRpcUrl,
    log: LogFile = FROM_SETTINGS,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Also check the checkpoint the service serves (public routes; no key needed).",
        ),
    ] = None,
    state_file: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="Keep what was verified here, and start from it next time (default: start"
            " from the log's first anchor).",
        ),
    ] = None,
    once: Annotated[
        bool,
        typer.Option("--once", help="Check up to the chain's head once, then exit (for cron)."),
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, help="Seconds between rounds.")
    ] = 15.0,
    confirmations: Annotated[
        int,
        typer.Option("--confirmations", min=0, help="Only anchors at least this many blocks deep."),
    ] = 0,
    service_timeout: Annotated[
        float,
        typer.Option(
            "--service-timeout", min=0.1, help="Seconds one answer of --url may take in all."
        ),
    ] = SERVICE_DEADLINE,
    max_silence: Annotated[
        int | None,
        typer.Option(
            "--max-silence",
            min=1,
            help="Alert when the newest anchor is older than this many seconds.",
        ),
    ] = None,
) -> None:
    """Follow the pinned log's anchors on chain (--log, --rpc-url) and check each new one
    against the last one verified: none skipped, root held by the contract, signed by
    the pinned log key, a consistent extension (the proof in the anchor transaction,
    re-checked here); the log not retired; the contract code the one shipped; with
    --url, the service's checkpoint signed and consistent with the chain (no split
    view). Prints one JSON line per anchor and per anomaly (ALERT on stderr). Exit 0: no
    anomaly (--once); 1: an anomaly; 2: bad arguments; 3: chain unreachable (--once)."""
    from ledger.formats.fields import FormatError
    from ledger.verify.monitor import (
        Seen,
        check_history,
        check_latest,
        check_log,
        check_served,
        follow,
    )
    from ledger.verify.rpc import ChainUnreadableError, ContractCallError, JsonRpcReader

    identity = pinned_identity(log)
    assert identity is not None
    _deadline[0] = service_timeout
    seen = Seen(identity.log_id)
    if state_file is not None and state_file.exists():
        try:
            seen = Seen.from_json(json.loads(state_file.read_text(encoding="utf-8")))
        except (OSError, ValueError, FormatError) as error:
            fail(f"{state_file}: not a monitor state file: {error}", EXIT_USAGE)
        if seen.log_id != identity.log_id:
            fail(f"{state_file} is the state of another log; use another --state", EXIT_USAGE)

    def alert(finding: Any) -> None:
        emit(finding.as_json())
        if finding.anomaly:
            sys.stderr.write(f"ALERT: {finding.check}: {finding.detail}\n")
            sys.stderr.flush()

    def source(first: int, second: int) -> list[bytes]:
        return _proof(url or "", first, second)

    with JsonRpcReader(rpc_url) as chain:
        while True:
            anomalies = 0

            def report(finding: Any) -> None:
                nonlocal anomalies
                alert(finding)
                anomalies += finding.anomaly

            try:
                # Chain findings first: a slow service never holds them back.
                for finding in check_log(identity, chain):
                    report(finding)
                history = check_history(identity, chain, seen)
                if history is not None:
                    report(history)
                if not anomalies:
                    head = chain.block_number() - confirmations
                    for finding, after in follow(
                        identity, chain, seen, head, source if url else None
                    ):
                        report(finding)
                        seen = after
                        if state_file is not None and not finding.anomaly:
                            _save(state_file, seen.as_json())
                    if not anomalies:
                        latest = check_latest(identity, chain, seen, head)
                        if latest is not None:
                            report(latest)
                    if url is not None and not anomalies:
                        finding, seen = _check_service(identity, seen, url, check_served)
                        report(finding)
                        if state_file is not None and not finding.anomaly:
                            _save(state_file, seen.as_json())
                    if max_silence is not None and seen.tree_size:
                        block = chain.block(seen.block_number)
                        if block is not None and time.time() - block.timestamp > max_silence:
                            report(_silence(block.timestamp, max_silence))
            except (ChainUnreadableError, ContractCallError) as error:
                if once:
                    fail(f"cannot read the chain: {error}", EXIT_CHAIN_UNAVAILABLE)
                sys.stderr.write(f"warning: cannot read the chain: {error}; retrying\n")
                time.sleep(interval)
                continue
            if anomalies:
                raise typer.Exit(EXIT_ANOMALY)
            if once:
                return
            time.sleep(interval)


def _proof(url: str, first: int, second: int) -> list[bytes]:
    """The service's consistency proof between two sizes ([] when it has none: the
    check then fails, as it should for a service that cannot prove its history)."""
    if not 0 < first < second:
        return []
    answer = _service_json(url, "/v1/proofs/consistency", {"first": first, "second": second})
    return (_hashes(answer.get("proof")) if isinstance(answer, dict) else None) or []


def _check_service(
    identity: LogIdentity, seen: Seen, url: str, check_served: Any
) -> tuple[Finding, Seen]:
    from ledger.verify.monitor import Finding

    checkpoint = _service_json(url, "/v1/checkpoints/latest")
    if not isinstance(checkpoint, dict):
        return Finding(
            "anomaly",
            "service",
            f"{url} did not answer GET /v1/checkpoints/latest with JSON within {_deadline[0]:g} s",
        ), seen
    size = checkpoint.get("tree_size")
    checked: tuple[Finding, Seen]
    if not isinstance(size, int):
        checked = check_served(identity, seen, checkpoint, [], [])
        return checked
    checked = check_served(
        identity,
        seen,
        checkpoint,
        _proof(url, seen.tree_size, size),
        _proof(url, seen.served_size, size),
    )
    return checked


def _silence(timestamp: int, limit: int) -> Any:
    from ledger.verify.monitor import Finding
    from ledger.verify.result import utc_text

    return Finding(
        "anomaly",
        "silence",
        f"the newest anchor is from {utc_text(timestamp)}, more than {limit} s ago: the"
        " operator stopped anchoring",
    )
