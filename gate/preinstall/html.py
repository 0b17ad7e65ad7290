"""The preinstall report as one self-contained HTML page: no script, no style sheet, font or image from anywhere
else, so it opens on an offline release machine and can be attached to a release ticket.

What blocks the release comes first, then what changed since the previous report, a chart of verdicts per
partition (inline SVG), and the table of every app. Every value from the image is escaped.
"""

from __future__ import annotations

from html import escape

COLOURS = {"allow": "#2e7d32", "review": "#ef6c00", "block": "#c62828"}
STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%;margin:1em 0}
th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}
.v{font-weight:bold;text-transform:uppercase}
.allow{color:#2e7d32}.review{color:#ef6c00}.block{color:#c62828}
.exempt{background:#e3f2fd;padding:1px 4px;border-radius:3px}
.change{background:#fff3e0;padding:1px 4px;border-radius:3px}
code{font-size:12px;word-break:break-all}
"""


def render(report: dict) -> str:
    s = report["summary"]
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>Preinstall report — {escape(report['target'])}</title><style>{STYLE}</style></head><body>",
             f"<h1>Preinstall report <span class='v {report['verdict']}'>{report['verdict']}</span></h1>",
             f"<p>{escape(report['target'])}: <b>{s['total']}</b> apps — {s['allow']} allow, {s['review']} review, "
             f"{s['block']} block; {s['exempted']} by exemption; {s['unreadable']} unreadable partitions.</p>"]
    parts += _blocking(report)
    parts += _changes(report.get("changes"))
    parts.append("<h2>Partitions</h2>" + _chart(report["partitions"]) + _partition_table(report["partitions"]))
    parts.append("<h2>Apps</h2>" + _app_table(report["items"]))
    parts.append("</body></html>")
    return "\n".join(parts)


def _blocking(report: dict) -> list[str]:
    out = []
    if report["errors"]:
        out.append("<h2>Partitions that could not be read</h2><ul>" + "".join(
            f"<li><code>{escape(e['code'])}</code> {escape(e['message'])}</li>" for e in report["errors"]) + "</ul>")
    blocked = [r for r in report["items"] if r["verdict"] == "block"]
    if blocked:
        out.append(f"<h2>What blocks the release ({len(blocked)})</h2><ul>" + "".join(
            f"<li><b>{escape(r.get('package') or '-')}</b> <code>{escape(r.get('path') or '')}</code>: "
            f"{escape('; '.join(x['message']['en'] for x in r['reasons']))}</li>" for r in blocked) + "</ul>")
    return out


def _changes(changes: dict | None) -> list[str]:
    if not changes:
        return []
    out = [f"<h2>Changes since {escape(str(changes['previous']))}</h2>"]
    for key, title in (("newly_blocked", "Newly blocked"), ("added", "Added"), ("removed", "Removed"),
                       ("resigned", "Re-signed"), ("unblocked", "No longer blocked")):
        entries = changes[key]
        out.append(f"<h3>{title} ({len(entries)})</h3>")
        if entries:
            out.append("<ul>" + "".join(
                f"<li><b>{escape(e.get('package') or '-')}</b> <code>{escape(str(e.get('path')))}</code> "
                f"<span class='v {escape(str(e.get('verdict')))}'>{escape(str(e.get('verdict')))}</span>"
                + (f" (was {escape(str(e['previous_verdict']))})" if e.get("previous_verdict") else "")
                + "</li>" for e in entries) + "</ul>")
    return out


def _chart(partitions: list[dict]) -> str:
    """Stacked horizontal bars, one per partition: allow / review / block."""
    bar, label, row = 420, 150, 26
    height = row * len(partitions) + 30
    top = max((p["total"] for p in partitions), default=0) or 1
    svg = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{label + bar + 120}' height='{height}' role='img' "
           f"aria-label='verdicts per partition'>"]
    for i, p in enumerate(partitions):
        y, x = 10 + i * row, label
        svg.append(f"<text x='0' y='{y + 15}' font-size='13'>{escape(p['name'] or p['source'])}</text>")
        for verdict in ("allow", "review", "block"):
            width = bar * p[verdict] / top
            if width:
                svg.append(f"<rect x='{x:.1f}' y='{y}' width='{width:.1f}' height='18' fill='{COLOURS[verdict]}'>"
                           f"<title>{verdict}: {p[verdict]}</title></rect>")
            x += width
        svg.append(f"<text x='{x + 6:.1f}' y='{y + 15}' font-size='12'>{p['allow']}/{p['review']}/{p['block']}"
                   f"{' !' if p['errors'] else ''}</text>")
    legend_y = height - 6
    svg += [f"<rect x='{label + i * 90}' y='{legend_y - 10}' width='10' height='10' fill='{COLOURS[v]}'/>"
            f"<text x='{label + 14 + i * 90}' y='{legend_y}' font-size='12'>{v}</text>"
            for i, v in enumerate(("allow", "review", "block"))]
    return "".join(svg) + "</svg>"


def _partition_table(partitions: list[dict]) -> str:
    rows = "".join(
        f"<tr><td>{escape(p['name'] or '-')}</td><td>{escape(p['source'])}</td><td>{escape(p['format'])}</td>"
        f"<td>{p['total']}</td><td>{p['allow']}</td><td>{p['review']}</td><td>{p['block']}</td>"
        f"<td>{p['exempted']}</td><td>{escape('; '.join(e['message'] for e in p['errors']))}</td></tr>"
        for p in partitions)
    return ("<table><tr><th>partition</th><th>source</th><th>format</th><th>apps</th><th>allow</th><th>review</th>"
            f"<th>block</th><th>exempted</th><th>errors</th></tr>{rows}</table>")


def _app_table(items: list[dict]) -> str:
    rows = []
    for r in items:
        reasons = "<br>".join(f"<code>{escape(x['code'])}</code> {escape(x['message']['en'])}<br>"
                              f"{escape(x['message']['zh'])}" for x in r["reasons"])
        exemption = r.get("exemption")
        if exemption:
            reasons += (f"<br><span class='exempt'>exemption: {escape(str(exemption.get('reason') or ''))} "
                        f"({escape(str(exemption.get('approved_by') or ''))}, until "
                        f"{escape(str(exemption.get('expires_at') or '-'))})</span>")
        change = "".join(f" <span class='change'>{escape(c)}</span>" for c in r.get("change") or ())
        rows.append(
            f"<tr><td class='v {r['verdict']}'>{r['verdict']}</td><td>{escape(r.get('package') or '-')}<br>"
            f"{escape(r.get('label') or '')} {change}</td><td><code>{escape(r.get('path') or '')}</code></td>"
            f"<td>{escape(r.get('service_licence') or '')}</td><td>{escape(r.get('signer') or '')}<br>"
            f"<code>{escape(r.get('cert_sha256') or '')}</code></td><td>{reasons}</td></tr>")
    return ("<table><tr><th>verdict</th><th>app</th><th>path</th><th>filing</th><th>signer</th><th>reasons</th></tr>"
            + "".join(rows) + "</table>")
