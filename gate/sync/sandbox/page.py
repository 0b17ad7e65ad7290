"""The small HTML page at ``/_sandbox/``: what arrived, and the defect counters, for a human at a rehearsal."""

from __future__ import annotations

from html import escape

from gate.sync.sandbox.store import StoredReport


def render(reports: list[StoredReport], counters: dict[str, int], feed_size: int) -> str:
    rows = "\n".join(
        "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in (
            r.received_at, r.platform_id, r.period_start, r.period_end, r.events_count, r.inventory_count,
            r.receipt_id, r.idempotency_key, _defects(r))) + "</tr>"
        for r in reports)
    stats = " · ".join(f"{escape(name)}: <b>{value}</b>" for name, value in sorted(counters.items()))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox regulator</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.3em .6em;font-size:90%}}.bad{{color:#b00}}</style></head>
<body><h1>Sandbox regulator (沙箱监管端)</h1>
<p>{stats} · feed records: <b>{feed_size}</b></p>
<p>JSON: <a href="/_sandbox/reports?items=0">/_sandbox/reports</a> · <a href="/openapi.json">/openapi.json</a></p>
<table><thead><tr><th>received</th><th>platform</th><th>period start</th><th>period end</th><th>events</th>
<th>inventory</th><th>receipt</th><th>idempotency key</th><th>defects</th></tr></thead>
<tbody>
{rows or '<tr><td colspan="9">no report received yet</td></tr>'}
</tbody></table></body></html>
"""


def _defects(report: StoredReport) -> str:
    return ", ".join(name for name, flag in (("overlap", report.overlap), ("gap", report.gap)) if flag) or "-"
