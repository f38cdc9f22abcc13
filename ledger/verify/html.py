"""Self-contained HTML pages: the audit summary and the campaign report.

One file each, no external assets: inline CSS, charts as inline SVG, no script. Every
value shown is escaped. Charts carry `class="chart"` and `data-bars` (the number of
bars drawn), so a test can check in a browser's DOM that they rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from ledger.verify.result import utc_text

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;\
margin:0;color:#1d2430;background:#f5f6f8}
main{max-width:1080px;margin:0 auto;padding:28px 24px 48px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 10px}
.sub{color:#5b6473;margin:0 0 18px}
.verdict{padding:14px 18px;border-radius:8px;font-weight:600;margin:16px 0}
.pass{background:#e3f5e8;color:#17602e;border:1px solid #9fd5b0}
.fail{background:#fde8e8;color:#8a1c1c;border:1px solid #f0a8a8}
.note{background:#fff6e0;color:#6b4c00;border:1px solid #eed48a}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin:10px 0}
.card{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:12px 14px}
.card b{display:block;font-size:22px}.card span{color:#5b6473;font-size:13px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e7;font-size:13.5px}
th,td{padding:6px 9px;border-bottom:1px solid #edf0f3;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
figure{background:#fff;border:1px solid #dde1e7;border-radius:8px;margin:10px 0;padding:12px}
figcaption{font-weight:600;margin-bottom:6px}svg text{font:11px system-ui,sans-serif;fill:#333}
footer{color:#7a8391;font-size:12.5px;margin-top:32px}
"""

BAR_COLOR = "#3a6fd8"


def page(title: str, body: str) -> str:
    """A complete HTML document."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><main>{body}</main></body></html>\n"
    )


def table(
    headers: Sequence[str] | None, rows: Sequence[Sequence[Any]], numeric: Sequence[int] = ()
) -> str:
    """An HTML table (no header row for None); columns in `numeric` are right-aligned
    numbers with separators."""
    head = (
        ""
        if headers is None
        else "<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr></thead>"
    )
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            if i in numeric and isinstance(value, int):
                cells.append(f'<td class="n">{value:,}</td>')
            else:
                cells.append(f"<td>{value if isinstance(value, Raw) else escape(str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table>{head}<tbody>{''.join(body)}</tbody></table>"


class Raw(str):
    """Markup that `table` inserts unescaped (already escaped by its maker)."""


def code(text: str) -> Raw:
    """Monospace text, escaped."""
    return Raw(f"<code>{escape(text)}</code>")


def link(url: str, text: str) -> Raw:
    """A link for http(s) URLs only (anything else is shown as text), escaped."""
    if not url.startswith(("https://", "http://")):
        return code(text)
    return Raw(f'<a href="{escape(url, quote=True)}" rel="noreferrer">{escape(text)}</a>')


def cards(items: Sequence[tuple[str, str]]) -> str:
    """Key figures as cards: (figure, label)."""
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><b>{escape(value)}</b><span>{escape(label)}</span></div>'
            for value, label in items
        )
        + "</div>"
    )


def utc(timestamp: int | None) -> str:
    """A Unix time as RFC 3339 UTC ('-' for none; a time no calendar holds, as the
    verifier's results say it)."""
    if timestamp is None:
        return "-"
    return utc_text(timestamp)


def bar_chart(
    chart_id: str, caption: str, labels: Sequence[str], values: Sequence[int], *, unit: str = ""
) -> str:
    """A horizontal bar chart, one bar per label, as inline SVG in a figure."""
    width, label_width, row = 1000, 260, 22
    height = max(row * len(values), row) + 8
    top = max(values, default=0) or 1
    plot = width - label_width - 90
    parts = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 4 + i * row
        length = max(1.0, plot * value / top) if value else 0.0
        shown = label if len(label) <= 38 else label[:36] + "..."
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 15}" text-anchor="end">{escape(shown)}</text>'
            f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{length:.1f}"'
            f' height="{row - 6}" fill="{BAR_COLOR}">'
            f"<title>{escape(label)}: {value:,}{escape(unit)}</title></rect>"
            f'<text x="{label_width + length + 6:.1f}" y="{y + 15}">{value:,}</text>'
        )
    svg = (
        f'<svg class="chart" id="{escape(chart_id)}" data-bars="{len(values)}"'
        f' role="img" aria-label="{escape(caption)}" viewBox="0 0 {width} {height}"'
        f' width="100%" preserveAspectRatio="xMinYMin meet">{"".join(parts)}</svg>'
    )
    return f"<figure><figcaption>{escape(caption)}</figcaption>{svg}</figure>"


def column_chart(chart_id: str, caption: str, labels: Sequence[str], values: Sequence[int]) -> str:
    """A vertical column chart (a time series: one column per label), as inline SVG."""
    width, height, left, bottom, top_pad = 1000, 300, 60, 60, 14
    count = max(len(values), 1)
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    top = max(values, default=0) or 1
    step = plot_w / count
    parts = [
        (
            f'<line x1="{left}" y1="{top_pad + plot_h}"'
            f' x2="{width - 10}" y2="{top_pad + plot_h}" stroke="#999"/>'
        ),
        f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{top:,}</text>',
        f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end">0</text>',
    ]
    every = max(1, count // 15)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * value / top
        x = left + i * step
        parts.append(
            f'<rect class="bar" x="{x + step * 0.1:.1f}" y="{top_pad + plot_h - h:.1f}"'
            f' width="{max(step * 0.8, 1):.1f}" height="{h:.1f}"'
            f' fill="{BAR_COLOR}"><title>{escape(label)}: {value:,}</title></rect>'
        )
        if i % every == 0:
            cx, cy = x + step / 2, top_pad + plot_h + 12
            parts.append(
                f'<text x="{cx:.1f}" y="{cy}" text-anchor="end"'
                f' transform="rotate(-45 {cx:.1f} {cy})">{escape(label)}</text>'
            )
    svg = (
        f'<svg class="chart" id="{escape(chart_id)}" data-bars="{len(values)}"'
        f' role="img" aria-label="{escape(caption)}" viewBox="0 0 {width} {height}"'
        f' width="100%" preserveAspectRatio="xMinYMin meet">{"".join(parts)}</svg>'
    )
    return f"<figure><figcaption>{escape(caption)}</figcaption>{svg}</figure>"


def footer(text: str) -> str:
    """The page's footer line."""
    return f"<footer>{escape(text)}</footer>"


# -- the pages ----------------------------------------------------------------------------


def _anchor_rows(anchors: Sequence[dict[str, Any]], limit: int = 1000) -> list[list[Any]]:
    shown = (
        list(anchors)
        if len(anchors) <= limit
        else [*anchors[: limit // 2], *anchors[-limit // 2 :]]
    )
    return [
        [
            a["number"],
            a["tree_size"],
            a["prev_size"],
            a["block_number"],
            utc(a["block_timestamp"]),
            code(a["root"]),
            code(a["tx_hash"]),
        ]
        for a in shown
    ]


def audit_page(result: dict[str, Any]) -> str:
    """The audit summary (the JSON of `AuditResult.as_json`) as a page."""
    passed = result["passed"]
    failure = result["failure"]
    first, last = result["first_anchor"], result["last_anchor"]
    if passed:
        verdict = (
            '<div class="verdict pass">PASSED: the export is the complete anchored log:'
            f" {result['entries']:,} entries,"
            f" every one of the {result['anchors']:,} anchored roots re-derived and matched.</div>"
        )
    elif failure["check"] == "nothing proven":
        verdict = f'<div class="verdict fail">NOTHING PROVEN: {escape(failure["message"])}</div>'
    else:
        verdict = (
            f'<div class="verdict fail">FAILED ({escape(failure["check"])}):'
            f" {escape(failure['message'])}</div>"
        )
    figures = [
        (f"{result['entries']:,}", "entries checked in order"),
        (f"{result['anchors']:,}", "anchors on chain"),
        (f"{result['roots_matched']:,}", "roots re-derived and matched"),
        (f"{result['anchored_entries']:,}", "entries under the newest anchor"),
    ]
    facts = [
        ["export", code(result["export"])],
        ["export size", f"{result['export_bytes']:,} bytes"],
        ["export SHA-256", code(result["export_sha256"] or "- (not read to the end)")],
        ["chain", f"chain id {result['chain_id']} via {result['rpc_url']}"],
        ["LogAnchor contract", code(result["contract"])],
        ["log id", code(result["log_id"])],
        [
            "first anchor",
            "-"
            if first is None
            else (
                f"tree size {first['tree_size']:,}, block"
                f" {first['block_number']}, {utc(first['block_timestamp'])}"
            ),
        ],
        [
            "last anchor",
            "-"
            if last is None
            else (
                f"tree size {last['tree_size']:,}, block"
                f" {last['block_number']}, {utc(last['block_timestamp'])}"
            ),
        ],
        ["records", ", ".join(f"{n:,} {k}" for k, n in sorted(result["kinds"].items())) or "-"],
        [
            "record times",
            f"{result['first_record_ts'] or '-'} to {result['last_record_ts'] or '-'}",
        ],
        [
            "entries after the newest anchor",
            "-" if result["unanchored_entries"] is None else f"{result['unanchored_entries']:,}",
        ],
        ["audit time", f"{result['seconds']:.1f} s"],
    ]
    if failure is not None:
        where = []
        if failure["line"] is not None:
            where.append(f"line {failure['line']:,}")
        if failure["leaf_index"] is not None:
            where.append(f"leaf index {failure['leaf_index']:,}")
        if failure["anchor"] is not None:
            where.append(
                f"anchor #{failure['anchor']['number']} (tree size"
                f" {failure['anchor']['tree_size']:,})"
            )
        if failure["index_range"] is not None:
            a, b = failure["index_range"]
            where.append(f"leaf indices {a:,} to {b - 1:,}")
        facts.insert(0, ["problem found at", "; ".join(where) or "-"])
    body = (
        "<h1>Audit of a model-ledger log</h1>"
        '<p class="sub">Export checked against the LogAnchor contract on chain id'
        f" {result['chain_id']}</p>"
        + verdict
        + cards(figures)
        + "<h2>Summary</h2>"
        + table(None, facts)
        + "<h2>What was checked</h2><ul>"
        "<li>Every Anchored event of the log was read, with the contract's own record of each"
        " anchor (root, block, time): sizes increase, each extends the one before, and the"
        " newest is the contract's latest.</li>"
        "<li>Every line of the export holds the next leaf index (no gap, duplicate or"
        " reordering), and a valid, canonical record (RFC 8785) whose leaf hash was"
        " recomputed.</li>"
        "<li>The root at every anchored size was recomputed from those leaf hashes (RFC 9162)"
        " and compared with the root on chain.</li></ul>"
        + f"<h2>Anchors ({result['anchors']:,})</h2>"
        + table(
            ["#", "tree size", "extends", "block", "block time (UTC)", "root", "transaction"],
            _anchor_rows(result["anchor_list"]),
            (0, 1, 2, 3),
        )
        + footer(
            f"{result.get('producer') or 'mledger'} audit,"
            f" {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}"
        )
    )
    return page("model-ledger audit", body)


def campaign_page(report: dict[str, Any]) -> str:
    """The campaign report (the JSON of `ledger.verify.campaign.build_report`) as a page."""
    totals = report["totals"]
    query = report["query"]
    evidence = report["evidence"]
    days = report["per_day"]
    accounts = report["per_account"]
    models = report["per_model"]
    chart_accounts = [a for a in accounts if a["interactions"]][:30]
    figures = [
        (f"{totals['interactions']:,}", "interactions"),
        (f"{totals['accounts_active']:,} / {totals['accounts']:,}", "accounts active / asked"),
        (f"{totals['models']:,}", "models"),
        (f"{totals['input_tokens']:,}", "input tokens"),
        (f"{totals['output_tokens']:,}", "output tokens"),
    ]
    if evidence is None:
        proof = (
            '<div class="verdict note">No anchored entry matches'
            " this query: there is no evidence pack.</div>"
        )
    else:
        check = evidence["verification"]
        css = (
            "pass"
            if check["valid"] and check["chain_consulted"]
            else ("note" if check["valid"] else "fail")
        )
        word = (
            ("ENTRIES PROVEN TO EXIST" if check["chain_consulted"] else "MATHEMATICS ONLY")
            if check["valid"]
            else "INVALID"
        )
        links = evidence.get("explorer") or {}
        block = f"block {evidence['anchor']['block_number']}"
        unanchored = evidence["unanchored_matches"]
        proof = (
            f'<div class="verdict {css}">{word}: {escape(check["statement"])}</div>'
            + "<h3>What this evidence proves</h3><ul>"
            + "".join(f"<li>{escape(line)}</li>" for line in evidence["proves"])
            + "</ul><h3>What it does not prove</h3><ul>"
            + "".join(f"<li>{escape(line)}</li>" for line in evidence["does_not_prove"])
            + "</ul>"
            + table(
                None,
                [
                    [
                        "pack",
                        (
                            f"{evidence['format']}: {evidence['entries']:,}"
                            f" entries, {evidence['proof_nodes']:,} shared"
                            f" proof nodes, {evidence['pack_bytes']:,} bytes"
                        ),
                    ],
                    ["pack SHA-256", code(evidence["pack_sha256"])],
                    ["checkpoint tree size", f"{evidence['tree_size']:,}"],
                    ["checkpoint root", code(evidence["root"])],
                    [
                        "anchor",
                        Raw(
                            (link(links["block"], block) if "block" in links else escape(block))
                            + escape(
                                f" at {utc(evidence['anchor']['block_timestamp'])},"
                                f" chain id {evidence['chain_id']}"
                            )
                        ),
                    ],
                    [
                        "anchor transaction",
                        link(links["tx"], evidence["anchor"]["tx_hash"])
                        if "tx" in links
                        else code(evidence["anchor"]["tx_hash"]),
                    ],
                    [
                        "LogAnchor contract / log id",
                        Raw(f"{code(evidence['contract'])} / {code(evidence['log_id'])}"),
                    ],
                    [
                        "matching entries not yet anchored",
                        "not known (report rebuilt from a pack)"
                        if unanchored is None
                        else f"{unanchored:,}",
                    ],
                ],
            )
            + "<h2>Verification checks</h2>"
            + table(
                ["check", "result", "detail"],
                [
                    [c["check"], "ok" if c["passed"] else "FAILED", c["detail"]]
                    for c in check["checks"]
                ],
            )
        )
    top_rows = [
        [
            a["account_id"],
            a["interactions"],
            a["input_tokens"],
            a["output_tokens"],
            a["models"],
            a["first_ts"] or "-",
            a["last_ts"] or "-",
        ]
        for a in report["top_accounts"]
    ]
    body = (
        "<h1>Campaign report</h1>"
        f'<p class="sub">{escape(report["query_text"])} &middot;'
        f" generated {escape(report['generated_at'])}</p>"
        + cards(figures)
        + column_chart(
            "chart-per-day",
            "Interactions per day (UTC)",
            [d["day"] for d in days],
            [d["interactions"] for d in days],
        )
        + bar_chart(
            "chart-per-account",
            "Interactions per account"
            + (
                " (the 30 most active)"
                if len([a for a in accounts if a["interactions"]]) > 30
                else ""
            ),
            [a["account_id"] for a in chart_accounts],
            [a["interactions"] for a in chart_accounts],
        )
        + bar_chart(
            "chart-per-model",
            "Interactions per model",
            [m["model"] for m in models],
            [m["interactions"] for m in models],
        )
        + "<h2>Top accounts</h2>"
        + table(
            ["account", "interactions", "input tokens", "output tokens", "models", "first", "last"],
            top_rows,
            (1, 2, 3, 4),
        )
        + "<h2>Evidence</h2>"
        + proof
        + "<h2>Query</h2>"
        + table(None, [[k, ", ".join(v) if isinstance(v, list) else v] for k, v in query.items()])
        + footer(
            f"{report.get('producer') or 'mledger'} report: figures computed from the records of"
            " the evidence pack; anyone can re-check the pack with `mledger verify` or rebuild"
            " this report from it with `mledger report --from-pack`. The figures are lower"
            " bounds: a pack proves that its entries exist, not that no other entry matches."
        )
    )
    return page("model-ledger campaign report", body)
