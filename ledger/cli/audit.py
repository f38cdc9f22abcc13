"""`mledger export` (operator side: the log as NDJSON), `mledger audit` (anyone: check an
export against the chain) and `mledger report` (a campaign report from an evidence pack).

Registered on `ledger.cli.common.app` by the import at the end of ledger/cli.py. Exit codes of
`mledger audit`: 0 passed; 1 an alteration was found; 2 usage or an unreadable file; 3
the chain could not be read, so nothing was decided.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ledger.cli.common import (
    FROM_SETTINGS,
    AnchorOption,
    ChainRpcUrl,
    DatabaseUrl,
    DataDir,
    LogFile,
    Setting,
    anchor_choice,
    app,
    emit,
    fail,
    open_store,
    pinned_identity,
)

EXIT_FAILED = 1
"""The audit found an alteration (or a pack failed verification)."""

EXIT_USAGE = 2
"""Usage error or an unreadable file."""

EXIT_CHAIN_UNAVAILABLE = 3
"""The chain could not be read."""


@contextmanager
def _progress(description: str, total: int | None, unit: str) -> Iterator[Any]:
    """A progress bar on stderr when it is a terminal: `update(done, count)`."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[count]:>12,} " + unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task(description, total=total, count=0)
        counted = [0]

        def update(done: int, count: int) -> None:
            counted[0] += count
            progress.update(task, advance=done, count=counted[0])

        yield update


def _atomic_write(path: Path) -> tuple[Path, Any]:
    partial = path.with_name(path.name + ".partial")
    try:
        return partial, partial.open("wb")
    except OSError as error:
        fail(f"cannot write {path}: {error.strerror or error}", EXIT_USAGE)


# -- export ---------------------------------------------------------------------------------


@app.command()
def export(
    out: Annotated[
        Path, typer.Option("--out", help="File to write (NDJSON); - for standard output.")
    ],
    from_index: Annotated[
        int, typer.Option("--from-index", min=0, help="First leaf index (inclusive).")
    ] = 0,
    to_index: Annotated[
        int | None,
        typer.Option(
            "--to-index", min=0, help="End leaf index (exclusive); default: the log's size."
        ),
    ] = None,
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
) -> None:
    """Write the sequenced entries as NDJSON, one {"leaf_index", "record"} line each in leaf
    index order ({"erased", "leaf_index"} for an erased entry; a digest record that logs
    an erasure, hold or lift adds "statement"), for `mledger audit`;
    print {"out", "from_index", "to_index", "entries", "bytes", "sha256"}."""
    from ledger.formats.export_line import export_line
    from ledger.store.exports import export_records

    digest = hashlib.sha256()
    written = count = 0
    with open_store(data_dir, database_url) as store:
        try:
            end, lines = export_records(store, from_index, to_index)
        except ValueError as error:
            fail(str(error), EXIT_USAGE)
        to_stdout = str(out) == "-"
        partial, handle = (None, sys.stdout.buffer) if to_stdout else _atomic_write(out)
        try:
            with _progress("export", end - from_index, "entries") as update:
                buffer: list[bytes] = []
                for index, record in lines:
                    buffer.append(export_line(index, record))
                    if len(buffer) == 4096:
                        data = b"".join(buffer)
                        handle.write(data)
                        digest.update(data)
                        written += len(data)
                        count += len(buffer)
                        update(len(buffer), len(buffer))
                        buffer = []
                data = b"".join(buffer)
                handle.write(data)
                digest.update(data)
                written += len(data)
                count += len(buffer)
                update(len(buffer), len(buffer))
            handle.flush()
            if partial is not None:
                os.fsync(handle.fileno())
                handle.close()
                partial.replace(out)
        except BaseException:
            if partial is not None:
                handle.close()
                partial.unlink(missing_ok=True)
            raise
    result = {
        "out": str(out),
        "from_index": from_index,
        "to_index": end,
        "entries": count,
        "bytes": written,
        "sha256": "0x" + digest.hexdigest(),
    }
    if to_stdout:
        sys.stderr.write(json.dumps(result) + "\n")
    else:
        emit(result)


# -- audit ------------------------------------------------------------------------------------


def _print_audit(result: Any) -> None:
    from ledger.formats.eip712 import NO_INDEX_ROOT
    from ledger.verify.audit import NOTHING_PROVEN
    from ledger.verify.result import utc_text

    out = sys.stdout
    summary = result.as_json()
    anchors = result.anchors

    def row(name: str, text: str) -> None:
        out.write(f"{name:<9}  {text}\n")

    digest = summary["export_sha256"] or "(not read to the end)"
    row("export", f"{result.export}: {result.export_bytes:,} bytes, SHA-256 {digest}")
    row(
        "log",
        f"{result.identity.describe()} (pinned), read at"
        f" {result.rpc_url}; its code is the LogAnchor shipped",
    )
    if result.retired is not None:
        row(
            "retired",
            "the log was retired: its admin trusts its anchors up to tree"
            f" size {result.retired.trusted_size:,};"
            f" {result.ignored_anchors:,} later anchor(s) not audited",
        )
    if anchors:
        row(
            "anchors",
            f"{len(anchors):,} anchors, tree sizes {anchors[0].size:,} to"
            f" {anchors[-1].size:,}; each extends the one before it, and"
            " the events agree with the contract's rootAt and latest",
        )
        for label, anchor in (("first", anchors[0]), ("last", anchors[-1])):
            row(
                label,
                f"anchor #{anchor.number}: tree size {anchor.size:,} in block"
                f" {anchor.block_number} at {utc_text(anchor.timestamp)}",
            )
    else:
        row("anchors", "none: this log has no anchor on chain, so no root could be checked")
    row(
        "roots",
        f"{result.roots_matched:,} of {len(anchors):,} anchored roots"
        " re-derived from the export match the chain",
    )
    signed = sum(1 for anchor in anchors if anchor.index_root != NO_INDEX_ROOT)
    row(
        "index roots",
        f"{result.index_roots_matched:,} of {signed:,} signed index roots re-derived from the"
        " export match the chain"
        + (
            f" ({len(anchors) - signed:,} anchors predate the index)"
            if signed < len(anchors)
            else ""
        ),
    )
    if result.passed:
        after = result.entries - result.anchored_size
        row(
            "entries",
            f"{result.entries:,} in order, leaf indices 0 to {result.entries - 1:,}, no"
            f" gap, duplicate or reordering; {result.anchored_size:,} anchored,"
            f" {after:,} after the newest anchor",
        )
    else:
        row("entries", f"{result.entries:,} checked in order before the problem")
    kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(result.kinds.items())) or "none"
    row("records", f"{kinds}; record times {result.first_ts or '-'} to {result.last_ts or '-'}")
    if result.erased:
        row(
            "erased",
            f"{result.erased:,} entries erased (leaf hash and marker, no record) by"
            f" {result.erasures:,} logged erasure records"
            + (
                f", {result.unanchored_erasures:,} of them after the newest anchor (not yet"
                " on chain: audit again once anchored)"
                if result.unanchored_erasures
                else ""
            ),
        )
    if result.statements:
        row(
            "statements",
            f"{result.statements:,} digest records carry the statement they log (erasure,"
            " hold, lift), each hashed to its record; every erasure's count and leaves_sha256"
            " (and leaves_root, when it gives one) recomputed from the lines marked erased"
            " by it"
            + (
                f"; no erased entry was held by any of the {result.holds:,} legal holds"
                " logged before its erasure and not lifted"
                if result.holds
                else ""
            )
            + (
                f"; {result.keyless_holds:,} legal holds name no key (key_sha256, as holds"
                " logged before it did): erasures are not checked against them"
                if result.keyless_holds
                else ""
            ),
        )
    row("time", f"{result.seconds:.1f} s")
    if result.passed:
        out.write(
            "PASSED: the export is the complete anchored log"
            f" ({result.anchored_size:,} entries under {len(anchors):,} anchors)\n"
        )
    elif result.failure.check == NOTHING_PROVEN:
        out.write(f"NOTHING PROVEN: {result.failure.message}\n")
    else:
        out.write(f"FAILED: {result.failure.check}: {result.failure.message}\n")


@app.command()
def audit(
    file: Annotated[
        Path, typer.Argument(help="An export (NDJSON) from `mledger export` or GET /v1/export.")
    ],
    rpc_url: ChainRpcUrl,
    log: LogFile = FROM_SETTINGS,
    from_block: Annotated[
        int | None,
        typer.Option(
            "--from-block",
            min=0,
            help="Read Anchored events from this block (default: the identity's deployment block).",
        ),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Also write the summary as a self-contained HTML page."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON document.")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=0,
            help="Worker processes checking records (default: one per CPU; 0: none).",
        ),
    ] = None,
) -> None:
    """Check an export against the chain and the pinned log identity (--log): the chain,
    the LogAnchor's code and the log key are the pinned ones; every record canonical and
    hashed, leaf indices 0..n-1 with no gap, duplicate or reordering, every anchored
    root re-derived and equal to the chain's, every anchor extending the one before.
    Exits non-zero naming the entry or the anchor at the first alteration."""
    from ledger.verify.audit import AuditError, AuditResult, audit_export, read_anchors
    from ledger.verify.html import audit_page
    from ledger.verify.rpc import ChainUnreadableError, JsonRpcReader

    identity = pinned_identity(log)
    assert identity is not None
    if not file.is_file():
        fail(f"cannot read {file}: no such file", EXIT_USAGE)
    chain = JsonRpcReader(rpc_url)
    try:
        result = AuditResult(identity, chain.where, str(file))
        found = read_anchors(chain, identity, from_block=from_block)
        result.anchors = found.anchors
        if found.info.retired:
            result.retired, result.ignored_anchors = found.info, found.ignored
        with _progress("audit", file.stat().st_size, "entries") as update:
            audit_export(file, result, workers=workers, progress=update)
    except ChainUnreadableError as error:
        fail(f"could not audit: the chain could not be read: {error}", EXIT_CHAIN_UNAVAILABLE)
    except AuditError as error:
        fail(f"audit failed: {error}", EXIT_FAILED)
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror or error}", EXIT_USAGE)
    finally:
        chain.close()
    summary = result.as_json()
    if report is not None:
        report.write_text(audit_page(summary), encoding="utf-8")
    if as_json:
        emit(summary)
    else:
        _print_audit(result)
    if not result.passed:
        assert result.failure is not None
        sys.stderr.write(f"error: audit failed: {result.failure.check}: {result.failure.message}\n")
        raise typer.Exit(EXIT_FAILED)


# -- report -----------------------------------------------------------------------------------


MAX_ACCOUNTS_BYTES = 16 << 20
"""Largest --accounts file read (16 MiB): MAX_QUERY_ACCOUNTS (10,000) ids of 256
characters fit even as JSON with every character escaped."""

MAX_PROBLEM_BYTES = 64 << 10
"""Largest error answer of the service read for its `detail`."""


def read_accounts(path: Path) -> list[str]:
    """Account ids from a file: one per line (blank lines and # comments skipped), or a
    JSON list of strings."""
    from ledger.jsonlimits import JsonInputError, load_json, read_bounded

    try:
        data = read_bounded(path, MAX_ACCOUNTS_BYTES)
        text = data.decode("utf-8")
    except JsonInputError as error:
        fail(str(error), EXIT_USAGE)
    except UnicodeDecodeError as error:
        fail(f"{path}: not UTF-8 text: {error}", EXIT_USAGE)
    if text.lstrip().startswith("["):
        try:
            ids = load_json(data, max_bytes=MAX_ACCOUNTS_BYTES, what=str(path))
        except JsonInputError as error:
            fail(f"{error}: not a JSON list of account ids", EXIT_USAGE)
        if not isinstance(ids, list) or not all(isinstance(a, str) for a in ids):
            fail(f"{path}: not a JSON list of account ids", EXIT_USAGE)
        return list(ids)
    return [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _pack_from_store(
    data_dir: Path, database_url: str | None, query: Any, anchor: Any, complete: bool
) -> tuple[bytes | None, int]:
    from ledger.cli.service import log_witnesses
    from ledger.config import current
    from ledger.errors import NotFoundError
    from ledger.service.evidence_pack import build_pack
    from ledger.store.anchors import AnchorRepository
    from ledger.store.exports import Filters, count_matching

    witnesses = log_witnesses(current())
    with open_store(data_dir, database_url) as store:
        try:
            built = build_pack(
                store,
                AnchorRepository(store),
                query,
                anchor=anchor,
                complete=complete,
                witnesses=witnesses,
            )
        except NotFoundError:
            filters = Filters(
                query.account_ids, query.ts_from, query.ts_to, query.model, query.kind
            )
            with store.read() as conn:
                return None, count_matching(conn, filters, 0)
        return built.document, built.unanchored


def _pack_from_api(
    url: str, api_key: str | None, query: Any, anchor: str, complete: bool
) -> tuple[bytes | None, int]:
    """The pack the service at `url` answers with, read within the bounds of any JSON
    from outside: at most MAX_PACK_BYTES, and MAX_JSON_DEPTH deep (ledger.jsonlimits)."""
    import httpx

    from ledger.formats.pack import MAX_PACK_BYTES
    from ledger.jsonlimits import JsonInputError, check_json, load_json
    from ledger.service.evidence_pack import UNANCHORED_HEADER

    if not api_key:
        fail("--url needs an auditor key: --api-key KEY or LEDGER_API_KEY", EXIT_USAGE)
    limit = MAX_PACK_BYTES
    try:
        with httpx.stream(
            "POST",
            url.rstrip("/") + "/v1/evidence",
            params={"anchor": anchor},
            json={**query.as_json(), **({"complete": True} if complete else {})},
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=600,
        ) as response:
            if response.status_code != 200:
                limit = MAX_PROBLEM_BYTES
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    break
                chunks.append(chunk)
    except httpx.HTTPError as error:
        fail(f"cannot reach {url}: {type(error).__name__}: {error}")
    status = response.status_code
    if status == 404:
        return None, 0
    if size > limit:
        fail(
            f"POST /v1/evidence answered {status} with more than"
            f" {limit} bytes; the limit is {limit}"
        )
    content = b"".join(chunks)
    if status != 200:
        try:
            problem = load_json(content, max_bytes=limit, what="the answer")
            detail = problem.get("detail", content) if isinstance(problem, dict) else content
        except JsonInputError:
            detail = content
        text = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        fail(f"POST /v1/evidence answered {status}: {text}")
    try:
        check_json(content, max_bytes=limit, what="the evidence pack the service sent")
    except JsonInputError as error:
        fail(str(error), EXIT_FAILED)
    return content, int(response.headers.get(UNANCHORED_HEADER, "0"))


@app.command()
def report(
    accounts: Annotated[
        Path | None,
        typer.Option("--accounts", help="Account ids, one per line (or a JSON list)."),
    ] = None,
    ts_from: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Start, inclusive: a date (2026-06-01, midnight UTC) or an RFC 3339 UTC time"
            " (2026-06-01T00:00:00Z, 2026-06-01T00:00:00.000Z, ...+00:00).",
        ),
    ] = None,
    ts_to: Annotated[str | None, typer.Option("--to", help="End, exclusive (same forms).")] = None,
    from_pack: Annotated[
        Path | None,
        typer.Option(
            "--from-pack",
            help="Rebuild the report offline from an evidence pack you received (its own"
            " query; no database or service needed). Verify it with --log and --rpc-url.",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="The HTML report.")] = Path("report.html"),
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the report as JSON here.")
    ] = None,
    csv_out: Annotated[
        Path | None,
        typer.Option("--csv", help="Also write the per-account figures as CSV here."),
    ] = None,
    pack_out: Annotated[
        Path | None,
        typer.Option(
            "--pack", help="Also save the evidence pack here (check it with `mledger verify`)."
        ),
    ] = None,
    kind: Annotated[str, typer.Option("--kind", help="Record kind counted.")] = "interaction",
    model: Annotated[str | None, typer.Option("--model", help="Only this model.")] = None,
    rpc_url: Annotated[
        str | None,
        typer.Option(
            "--rpc-url",
            help="Verify the pack against this chain, with --log (default: mathematics only).",
        ),
        Setting("rpc_url"),
    ] = FROM_SETTINGS,
    log: LogFile = FROM_SETTINGS,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Ask a running service (POST /v1/evidence) instead of the database.",
        ),
        Setting("url"),
    ] = FROM_SETTINGS,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", help="Auditor key for --url."),
        Setting("api_key"),
    ] = FROM_SETTINGS,
    data_dir: DataDir = FROM_SETTINGS,
    database_url: DatabaseUrl = FROM_SETTINGS,
    anchor: AnchorOption = "earliest",
    complete: Annotated[
        bool,
        typer.Option(
            "--complete",
            help="Ask for a complete pack: it also proves, per account, that no other entry"
            " matches (docs/completeness.md); the report then says complete: true per"
            " account once verified against the chain.",
        ),
    ] = False,
) -> None:
    """A campaign report: what the accounts did between --from and --to (per day, per
    account, per model, top accounts) with the evidence behind it: one evidence pack of
    every anchored matching entry, verified before any figure is computed. Writes a
    self-contained HTML page (and JSON, CSV); prints a one-line JSON summary. With
    --from-pack, rebuilds the same report from a pack alone. The figures are lower
    bounds: a pack proves that its entries exist, not that no other entry matches;
    with --complete the pack also proves, per account, that none is missing (checked
    against the chain: --log and --rpc-url), and the report says complete: true."""
    from ledger.formats.pack import Pack, QueryError, parse_query_input
    from ledger.verify.campaign import build_report, report_csv
    from ledger.verify.html import campaign_page
    from ledger.verify.pack import verify_pack
    from ledger.verify.result import ChainReadError, VerificationError, VerificationResult
    from ledger.verify.rpc import JsonRpcReader

    identity = pinned_identity(log, offline_ok=rpc_url is None)
    unanchored: int | None
    document: bytes | None
    if from_pack is not None:
        given = [
            flag
            for flag, value in (
                ("--accounts", accounts),
                ("--from", ts_from),
                ("--to", ts_to),
                ("--model", model),
                ("--url", url),
                ("--anchor", None if anchor == "earliest" else anchor),
                ("--complete", complete or None),
            )
            if value is not None
        ]
        if given:
            fail(
                f"--from-pack rebuilds the report of the pack's own query; drop {', '.join(given)}",
                EXIT_USAGE,
            )
        from ledger.formats.pack import MAX_PACK_BYTES
        from ledger.jsonlimits import JsonInputError, read_bounded

        try:
            document = read_bounded(from_pack, MAX_PACK_BYTES)
        except JsonInputError as error:
            fail(str(error), EXIT_USAGE)
        unanchored = None
    else:
        missing = [
            flag
            for flag, value in (("--accounts", accounts), ("--from", ts_from), ("--to", ts_to))
            if value is None
        ]
        if missing:
            fail(f"missing {', '.join(missing)} (or --from-pack PACK)", EXIT_USAGE)
        assert accounts is not None
        ids = read_accounts(accounts)
        if not ids:
            fail(f"{accounts} lists no account id", EXIT_USAGE)
        try:
            query = parse_query_input(
                {"account_ids": ids, "from": ts_from, "to": ts_to, "model": model, "kind": kind}
            )
        except QueryError as bad:
            fail(
                f"--{bad.field.split('[')[0].replace('account_ids', 'accounts')}: {bad.message}",
                EXIT_USAGE,
            )
        choice = anchor_choice(anchor)
        document, unanchored = (
            _pack_from_api(url, api_key, query, str(choice), complete)
            if url
            else _pack_from_store(data_dir, database_url, query, choice, complete)
        )
    pack: Pack | None = None
    result: VerificationResult | None = None
    failure: VerificationError | None = None
    if document is not None:
        chain = JsonRpcReader(rpc_url) if rpc_url else None
        try:
            result = verify_pack(document, chain, identity)
        except ChainReadError as failed:
            fail(
                f"could not verify the pack: the chain could not be read: {failed.message}",
                EXIT_CHAIN_UNAVAILABLE,
            )
        except VerificationError as failed:
            failure, result = failed, failed.result
        finally:
            if chain is not None:
                chain.close()
        pack = result.bundle if result is not None and isinstance(result.bundle, Pack) else None
        if pack is None:
            fail(f"the evidence pack is unreadable: {failure}", EXIT_FAILED)
        if pack_out is not None:
            pack_out.write_bytes(document)
        if from_pack is not None:
            query = pack.query
    explorer = identity.explorer if identity is not None else None
    built = build_report(query, pack, document, result, failure, unanchored, explorer)
    out.write_text(campaign_page(built), encoding="utf-8")
    if json_out is not None:
        json_out.write_text(json.dumps(built, indent=1) + "\n", encoding="utf-8")
    if csv_out is not None:
        csv_out.write_text(report_csv(built), encoding="utf-8", newline="")
    evidence = built["evidence"]
    emit(
        {
            "out": str(out),
            "json": None if json_out is None else str(json_out),
            "csv": None if csv_out is None else str(csv_out),
            "interactions": built["totals"]["interactions"],
            "accounts_active": built["totals"]["accounts_active"],
            "pack_entries": 0 if evidence is None else evidence["entries"],
            "verified": None
            if evidence is None
            else evidence["verification"]["valid"] and evidence["verification"]["chain_consulted"],
            "chain_consulted": None
            if evidence is None
            else evidence["verification"]["chain_consulted"],
            "unanchored_matches": unanchored,
            "proves": "existence of the entries counted, and that no other entry of the"
            " accounts matches (a complete pack, verified against the chain)"
            if evidence is not None and evidence["complete"]
            else "existence of the entries counted (not that no other entry matches)",
        }
    )
    if failure is not None:
        sys.stderr.write(f"error: the evidence pack does not verify: {failure}\n")
        raise typer.Exit(EXIT_FAILED)
