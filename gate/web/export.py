"""CSV export of any console list as filtered (``?format=csv``): the same query, the same filters, up to
``paging.EXPORT_ROWS`` rows per file, the next file's URL in a ``Link: <…>; rel="next"`` header.

Every cell goes through gate.preinstall.report.spreadsheet_cell, so a value beginning with = + - @ (a package
label, a comment, a reviewer's note) opens in a spreadsheet as text, never as a formula. UTF-8 with a byte-order
mark, which Excel needs to read Chinese text; times as ISO 8601 with +08:00 (Beijing time).
"""

from __future__ import annotations

import csv
import io
import re

import flask
from markupsafe import Markup

from gate.preinstall.report import spreadsheet_cell

_TIME = re.compile(r'<time datetime="([^"]+)">[^<]*</time>')
_TAG = re.compile(r"<[^>]+>")


def wanted() -> bool:
    return flask.request.args.get("format") == "csv"


def cell_text(cell) -> str:
    if getattr(cell, "url", None) is not None and hasattr(cell, "text"):  # a Link
        return str(cell.text)
    if isinstance(cell, Markup):
        text = _TIME.sub(lambda m: m.group(1), str(cell))
        return Markup(_TAG.sub("", text)).unescape()
    return "" if cell is None else str(cell)


def csv_response(filename: str, header: list[str], rows: list[list], next_url: str | None) -> flask.Response:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([spreadsheet_cell(h) for h in header])
    for row in rows:
        writer.writerow([spreadsheet_cell(cell_text(c)) for c in row])
    response = flask.Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response
