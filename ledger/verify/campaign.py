"""Campaign reports: what a set of accounts did over a time range, from an evidence pack.

Pure: the figures (per day, per account, per model, top accounts) are computed from the
records of a pack that was verified first (`ledger.verify.pack`), so every number in
the report is backed by evidence anyone can re-check. The report is JSON
(`build_report`) and a self-contained HTML page (`ledger.verify.html.campaign_page`).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ledger.formats.pack import Pack, PackQuery
from ledger.formats.producer import producer
from ledger.verify.result import VerificationError, VerificationResult, utc_text

REPORT_FORMAT = "model-ledger/campaign-report/v1"
"""The `format` of the JSON report."""

TOP_ACCOUNTS = 10
"""Accounts in the top-accounts table."""

MAX_FILLED_DAYS = 731
"""Days of the range shown with zeros filled in; a longer range shows active days only."""


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _columns(record: dict[str, Any]) -> tuple[str | None, str | None, int, int]:
    """(account, model, input tokens, output tokens) of a record, as the store indexes
    them (a licence's licensee is its account; a model record's model id its model)."""
    body = record.get("body") or {}
    kind = record.get("kind")
    if kind == "interaction":
        return (
            body.get("account_id"),
            body.get("model"),
            int(body.get("input_tokens", 0)),
            int(body.get("output_tokens", 0)),
        )
    if kind == "licence":
        return body.get("licensee"), None, 0, 0
    if kind == "model":
        return None, body.get("model_id"), 0, 0
    return None, None, 0, 0


def _days(first: str | None, last: str | None, seen: Counter[str]) -> list[dict[str, Any]]:
    """Interactions per day, zeros filled in between the range's first and last day."""
    if first is None or last is None:
        return [{"day": day, "interactions": seen[day]} for day in sorted(seen)]
    start = date.fromisoformat(first[:10])
    end_instant = datetime.strptime(last, "%Y-%m-%dT%H:%M:%S.%fZ") - timedelta(
        milliseconds=1
    )  # `to` is exclusive
    end = end_instant.date()
    if (end - start).days + 1 > MAX_FILLED_DAYS or end < start:
        return [{"day": day, "interactions": seen[day]} for day in sorted(seen)]
    out = []
    day = start
    while day <= end:
        text = day.isoformat()
        out.append({"day": text, "interactions": seen[text]})
        day += timedelta(days=1)
    return out


def build_report(
    query: PackQuery,
    pack: Pack | None,
    pack_bytes: bytes | None,
    verification: VerificationResult | None,
    error: VerificationError | None,
    unanchored: int | None,
    explorer: str | None = None,
) -> dict[str, Any]:
    """The report as JSON: totals, per day, per account (every account asked, active or
    not), per model, top accounts, and the evidence summary (None without a pack)."""
    per_account: dict[str, dict[str, Any]] = {}
    asked = list(query.account_ids or ())
    for asked_id in asked:
        per_account[asked_id] = {
            "account_id": asked_id,
            "interactions": 0,
            "input_tokens": 0,
            "output_tokens": 0,
            "models": set(),
            "first_ts": None,
            "last_ts": None,
        }
    per_model: dict[str, dict[str, int]] = defaultdict(
        lambda: {"interactions": 0, "input_tokens": 0, "output_tokens": 0}
    )
    days: Counter[str] = Counter()
    total_in = total_out = 0
    records: Sequence[dict[str, Any]] = pack.records if pack is not None else ()
    for record in records:
        account, model, tokens_in, tokens_out = _columns(record)
        ts = str(record.get("ts", ""))
        days[ts[:10]] += 1
        total_in += tokens_in
        total_out += tokens_out
        if account is not None:
            row = per_account.setdefault(
                account,
                {
                    "account_id": account,
                    "interactions": 0,
                    "input_tokens": 0,
                    "output_tokens": 0,
                    "models": set(),
                    "first_ts": None,
                    "last_ts": None,
                },
            )
            row["interactions"] += 1
            row["input_tokens"] += tokens_in
            row["output_tokens"] += tokens_out
            if model is not None:
                row["models"].add(model)
            row["first_ts"] = (
                ts if row["first_ts"] is None or ts < row["first_ts"] else row["first_ts"]
            )
            row["last_ts"] = ts if row["last_ts"] is None or ts > row["last_ts"] else row["last_ts"]
        if model is not None:
            figures = per_model[model]
            figures["interactions"] += 1
            figures["input_tokens"] += tokens_in
            figures["output_tokens"] += tokens_out
    accounts = sorted(
        per_account.values(), key=lambda row: (-row["interactions"], row["account_id"])
    )
    proven = proven_accounts(verification, error)
    for row in accounts:
        row["models"] = len(row["models"])
        row["complete"] = row["account_id"] in proven
    models: list[dict[str, Any]] = sorted(
        ({"model": name, **figures} for name, figures in per_model.items()),
        key=lambda row: (-row["interactions"], row["model"]),
    )
    return {
        "format": REPORT_FORMAT,
        "producer": producer(),
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "query": query.as_json(),
        "query_text": query.describe(),
        "totals": {
            "interactions": len(records),
            "accounts": len(asked) if asked else len(accounts),
            "accounts_active": sum(1 for row in accounts if row["interactions"]),
            "models": len(models),
            "input_tokens": total_in,
            "output_tokens": total_out,
            "days_active": len(days),
        },
        "per_day": _days(query.ts_from, query.ts_to, days),
        "per_account": accounts,
        "per_model": models,
        "top_accounts": [row for row in accounts if row["interactions"]][:TOP_ACCOUNTS],
        "evidence": None
        if pack is None or pack_bytes is None
        else _evidence(pack, pack_bytes, verification, error, unanchored, explorer),
    }


def proven_accounts(
    verification: VerificationResult | None, error: VerificationError | None
) -> frozenset[str]:
    """The accounts whose figures rest on complete evidence: a complete pack that
    verified against the chain proved each of them (ledger.verify.pack). Offline the
    index root is the pack's claim, so no account is proven complete."""
    if error is not None or verification is None or not verification.chain_consulted:
        return frozenset()
    return frozenset(proof.key.removeprefix("account:") for proof in verification.complete_keys)


def _claims(
    pack: Pack, valid: bool, chain_consulted: bool, unanchored: int | None, complete: bool
) -> tuple[list[str], list[str]]:
    """What the evidence proves, and what it does not, in words a reader of the report
    can repeat: a pack proves that its entries exist, never that no other entry matches."""
    entries = f"{len(pack.indices):,} entries counted"
    if not valid:
        return [], [
            (
                f"Anything: the evidence pack does not verify, so none of the {entries}"
                " is proven to be in the log."
            )
        ]
    when = f"block {pack.anchor.block_number} ({utc_text(pack.anchor.block_timestamp)})"
    if chain_consulted:
        proves = [
            (
                f"Each of the {entries} is in the log: its record hashes to a leaf that the pack's"
                f" proof places in the checkpoint of tree size {pack.tree_size:,}."
            )
        ]
    else:
        proves = [
            (
                f"Only that the {entries} are leaves of a tree with root 0x{pack.root.hex()} and"
                f" size {pack.tree_size:,}: anyone can build such a tree. Without the chain nothing"
                " ties it to the log."
            )
        ]
    if chain_consulted:
        proves.append(
            f"That checkpoint was signed by the log key and anchored on chain {pack.chain_id}"
            f" in {when}: every counted entry existed no later than that block, and the"
            " operator cannot change or remove it without the chain showing it."
        )
    if complete:
        proves.append(
            f"No other entry of these accounts matches the query among the first"
            f" {pack.tree_size:,} entries of the log: the pack carries each account's index"
            " proof under the index root the log key signed with that checkpoint, and the"
            " accounts' other entries, none of which matches. The figures are exact up to"
            " that checkpoint."
        )
        not_proven = []
    else:
        not_proven = [
            (
                "That no other entry matches the query: the operator chose which entries to"
                " put in the pack, so the log may hold matching entries the pack leaves out."
                " The figures are lower bounds (ask for a complete pack: --complete)."
            ),
        ]
    if not chain_consulted:
        not_proven.append(
            "When the entries existed, or that the checkpoint is the log's: the chain was"
            " not consulted (verify with the log identity and an RPC URL)."
        )
    if unanchored:
        not_proven.append(
            f"{unanchored:,} matching entries were not yet anchored when the pack was built;"
            " they are not counted."
        )
    return proves, not_proven


def _links(explorer: str | None, pack: Pack) -> dict[str, str] | None:
    """Block-explorer links of the anchor, when the log identity names an explorer."""
    if not explorer:
        return None
    base = explorer.rstrip("/")
    return {
        "tx": f"{base}/tx/{_hex(pack.anchor.tx_hash)}",
        "block": f"{base}/block/{pack.anchor.block_number}",
    }


def _evidence(
    pack: Pack,
    pack_bytes: bytes,
    verification: VerificationResult | None,
    error: VerificationError | None,
    unanchored: int | None,
    explorer: str | None,
) -> dict[str, Any]:
    checks = (
        []
        if verification is None
        else [
            {"check": c.name, "passed": c.passed, "detail": c.detail} for c in verification.checks
        ]
    )
    if error is not None:
        statement = f"{error.check} check failed: {error.message}"
    elif verification is not None:
        statement = verification.statement()
    else:
        statement = "not verified"
    anchored = None if verification is None else verification.anchored
    valid = error is None and verification is not None
    chain_consulted = bool(verification and verification.chain_consulted)
    complete = valid and chain_consulted and pack.completeness is not None
    proves, not_proven = _claims(pack, valid, chain_consulted, unanchored, complete)
    return {
        "format": "model-ledger/evidence-pack/v1",
        "entries": len(pack.indices),
        "proof_nodes": len(pack.proof),
        "pack_bytes": len(pack_bytes),
        "pack_sha256": _hex(hashlib.sha256(pack_bytes).digest()),
        "chain_id": pack.chain_id,
        "contract": _hex(pack.contract),
        "log_id": _hex(pack.log_id),
        "tree_size": pack.tree_size,
        "root": _hex(pack.root),
        "anchor": {
            "tx_hash": _hex(pack.anchor.tx_hash),
            "block_number": pack.anchor.block_number,
            "block_hash": _hex(pack.anchor.block_hash),
            "block_timestamp": pack.anchor.block_timestamp,
        },
        "explorer": _links(explorer, pack) if chain_consulted and valid else None,
        "unanchored_matches": unanchored,
        "proves": proves,
        "does_not_prove": not_proven,
        "complete": complete,
        "verification": {
            "valid": valid,
            "chain_consulted": chain_consulted,
            "statement": statement,
            "existed_no_later_than_block": None if anchored is None else anchored.block_number,
            "checks": checks,
        },
    }


CSV_COLUMNS = (
    "account_id",
    "interactions",
    "input_tokens",
    "output_tokens",
    "models",
    "first_ts",
    "last_ts",
    "complete",
)
"""The columns of the per-account CSV, in order."""


def _cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula gets a leading quote
    (account ids come from records, which anyone with an API key writes)."""
    text = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv(report: dict[str, Any]) -> str:
    """The report's per-account figures as CSV (RFC 4180, CRLF line ends): one row per
    account, each naming the evidence pack it rests on and whether that pack verified."""
    evidence = report["evidence"]
    pack = "" if evidence is None else evidence["pack_sha256"]
    verified = evidence is not None and evidence["verification"]["valid"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*CSV_COLUMNS, "pack_sha256", "pack_verified"])
    for row in report["per_account"]:
        writer.writerow([*(_cell(row[column]) for column in CSV_COLUMNS), pack, _cell(verified)])
    return out.getvalue()
