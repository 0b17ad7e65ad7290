"""Reading filings files: JSON array, JSON Lines, CSV (UTF-8 with/without BOM, GB18030/GBK) and XLSX.

Each reader streams ``RawRecord``s — the raw record shape of docs/filings.md plus the row it came from — so a file with a
million records never sits in memory whole. Tabular files (CSV, XLSX) have one row per platform identity
(the headers of docs/filings.md); adjacent rows with the same 服务备案号 are merged into one record, as the MIIT export writes
them. A row that cannot even be parsed yields a RawRecord with ``problems`` and no data.
"""

from __future__ import annotations

import codecs
import csv
import json
import pathlib
import unicodedata
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gate.filings.problems import FieldProblem, FilingsInvalid
from gate.filings.source_keys import source_key

FORMATS = ("json", "jsonl", "csv", "xlsx")
READ_CHUNK = 1 << 20

# The CSV headers of docs/filings.md (contract) plus optional extras; English field names are accepted as headers too.
HEADERS = {
    "服务备案号": "service_licence", "主体备案号": "main_licence", "服务类型": "service_type",
    "服务名称": "service_name", "主办单位名称": "unit_name", "主办单位性质": "unit_nature", "状态": "status",
    "审核通过日期": "approved_at", "平台": "platform", "包名/bundle id": "identifier", "公钥": "public_key",
    "签名md5": "signature_md5", "域名": "domains",
    "签名sha1": "signature_sha1", "签名sha256": "signature_sha256", "黑名单": "blacklisted",
    "是否黑名单": "blacklisted", "前置审批": "content_approvals",
}
FILING_FIELDS = ("service_licence", "main_licence", "service_type", "service_name", "unit_name", "unit_nature",
                 "status", "approved_at", "blacklisted", "content_approvals")
PLATFORM_FIELDS = ("platform", "identifier", "public_key", "signature_md5", "signature_sha1", "signature_sha256")
REQUIRED_HEADERS = ("service_licence", "service_type", "service_name", "unit_name", "status")
_ENGLISH = set(FILING_FIELDS) | set(PLATFORM_FIELDS) | {"domains"}


@dataclass
class RawRecord:
    """One record as read: the raw fields (None when unparseable), its first row, and read-time problems."""

    row: int
    data: dict[str, Any] | None
    problems: list[FieldProblem] = field(default_factory=list)
    # With ``read_records(..., known=...)``: the record text's key (gate.filings.source_keys), None for tabular rows;
    # ``known`` when the key is among the given ones — then ``data`` is None and the text was not even parsed.
    source_key: str | None = None
    known: bool = False


def detect_format(path: pathlib.Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".csv", ".xlsx"):
        return suffix[1:]
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    stripped = head.lstrip(codecs.BOM_UTF8).lstrip()
    if stripped.startswith(b"["):
        return "json"
    if stripped.startswith(b"{"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    return "csv"


def read_records(path: str | pathlib.Path, fmt: str | None = None, *,
                 known: Container[str] | None = None) -> Iterator[RawRecord]:
    """Stream the raw records of a filings file; file-level faults raise FilingsInvalid.

    With ``known`` (source keys of records the registry holds), JSON records carry their source key, and a record
    whose key is known comes back unparsed (``known=True``)."""
    p = pathlib.Path(path)
    try:
        kind = fmt or detect_format(p)
        if kind in ("json", "jsonl") and known is not None:
            yield from (_json_array if kind == "json" else _json_lines)(p, known)
            return
        reader = {"json": _json_array, "jsonl": _json_lines, "csv": _csv, "xlsx": _xlsx}[kind]
        yield from reader(p)
    except OSError as exc:
        raise FilingsInvalid(f"{p}: cannot read ({exc.strerror or exc})", code="filings_unreadable") from None
    except UnicodeDecodeError as exc:  # JSON files are UTF-8 (RFC 8259); only CSV is sniffed for GB18030
        raise FilingsInvalid(f"{p}: not UTF-8 text (byte {exc.start})", code="filings_unreadable") from None


def _json_array(path: pathlib.Path, known: Container[str] | None = None) -> Iterator[RawRecord]:
    """A JSON array read element by element (raw_decode over a sliding buffer), so memory stays bounded."""
    decoder = json.JSONDecoder()
    with path.open("r", encoding="utf-8-sig") as fh:
        buf, pos, index, started, eof = "", 0, 0, False, False
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n,":
                pos += 1
            if not started and pos < len(buf):
                if buf[pos] != "[":
                    raise FilingsInvalid(f"{path}: a JSON filings file is an array of records", code="json_syntax")
                started, pos = True, pos + 1
                continue
            if pos < len(buf) and buf[pos] == "]":
                return
            if pos < len(buf):
                try:
                    value, end = decoder.raw_decode(buf, pos)
                except RecursionError:  # nesting deeper than the decoder's recursion limit: not a record
                    raise FilingsInvalid(f"{path}: element {index + 1}: nested too deeply", code="json_syntax") \
                        from None
                except json.JSONDecodeError as exc:
                    if not eof:  # maybe the element continues in the next chunk
                        value = None
                    else:
                        raise FilingsInvalid(f"{path}: element {index + 1}: {exc.msg}", code="json_syntax") from None
                else:
                    # A number/string cut at a chunk border would parse short: only trust it when more follows.
                    if end < len(buf) or eof:
                        index += 1
                        yield _keyed(_record(index, value), buf[pos:end], known)
                        pos = end
                        continue
            if eof:
                raise FilingsInvalid(f"{path}: the JSON array is not closed", code="json_syntax")
            chunk = fh.read(READ_CHUNK)
            eof = not chunk
            buf, pos = buf[pos:] + chunk, 0


def _record(row: int, value: Any) -> RawRecord:
    if isinstance(value, dict):
        return RawRecord(row, value)
    return RawRecord(row, None, [FieldProblem("record", "record_syntax", "a filing record is a JSON object", row)])


def _keyed(record: RawRecord, text: str, known: Container[str] | None) -> RawRecord:
    if known is not None and record.data is not None:
        record.source_key = source_key(text)
        if record.source_key in known:
            record.data, record.known = None, True
    return record


def _json_lines(path: pathlib.Path, known: Container[str] | None = None) -> Iterator[RawRecord]:
    with path.open("r", encoding="utf-8-sig") as fh:
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if not text:
                continue
            key = None
            if known is not None:
                key = source_key(text)
                if key in known:  # the registry holds exactly this text's filing: no need to parse it
                    yield RawRecord(lineno, None, source_key=key, known=True)
                    continue
            try:
                value = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                message = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
                yield RawRecord(lineno, None, [FieldProblem("record", "json_syntax", message, lineno)])
                continue
            record = _record(lineno, value)
            if record.data is not None:
                record.source_key = key
            yield record


def sniff_encoding(path: pathlib.Path) -> str:
    """UTF-8 (BOM or not) when the whole file decodes as UTF-8, else GB18030 (a superset of GBK and GB2312).

    Excel on Chinese Windows saves CSV as GBK; a GBK file almost never decodes as UTF-8 by accident, so a full
    strict UTF-8 pass is a reliable test (and costs ~0.1 s per 100 MB).
    """
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    with path.open("rb") as fh:
        first = fh.read(3)
        if first == codecs.BOM_UTF8:
            return "utf-8-sig"
        chunk = first
        try:
            while chunk:
                decoder.decode(chunk)
                chunk = fh.read(READ_CHUNK)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


def _header_map(header: Iterable[Any], path: pathlib.Path) -> list[str | None]:
    names: list[str | None] = []
    for cell in header:
        key = unicodedata.normalize("NFKC", "" if cell is None else str(cell)).strip().lower()
        key = key.lstrip("\ufeff")
        names.append(HEADERS.get(key) or (key if key in _ENGLISH else None))
    missing = [h for h in REQUIRED_HEADERS if h not in names]
    if missing:
        want = {v: k for k, v in HEADERS.items()}
        raise FilingsInvalid(f"{path}: missing column(s) {', '.join(want[m] for m in missing)}",
                             code="header_missing")
    return names


def _csv(path: pathlib.Path) -> Iterator[RawRecord]:
    encoding = sniff_encoding(path)
    with path.open("r", encoding=encoding, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return
        names = _header_map(header, path)
        # csv.reader's line_num counts physical lines (quoted newlines included): the row number users see.
        rows = ((reader.line_num, r) for r in reader)
        yield from _merge_rows(names, rows)


def _xlsx(path: pathlib.Path) -> Iterator[RawRecord]:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise FilingsInvalid(f"{path}: not a readable XLSX workbook ({exc})", code="xlsx_unreadable") from None
    try:
        rows = enumerate(wb.worksheets[0].iter_rows(values_only=True), 1)
        first = next(rows, None)
        if first is None:
            return
        names = _header_map(first[1], path)
        yield from _merge_rows(names, rows)
    finally:
        wb.close()


def _merge_rows(names: list[str | None], rows: Iterable[tuple[int, Iterable[Any]]]) -> Iterator[RawRecord]:
    """One record per run of adjacent rows with the same 服务备案号; each row adds a platform identity."""
    current: RawRecord | None = None
    current_key: str | None = None
    for rowno, cells in rows:
        values = {n: v for n, v in zip(names, cells) if n is not None and v is not None and str(v).strip() != ""}
        if not values:
            continue  # blank line
        key = str(values.get("service_licence", "")).strip()
        if current is not None and key and key == current_key:
            _add_row(current, values, rowno)
            continue
        if current is not None:
            yield current
        data = {f: values.get(f) for f in FILING_FIELDS}
        data["platforms"], data["domains"] = [], []
        current, current_key = RawRecord(rowno, data), key
        _add_row(current, values, rowno, first=True)
    if current is not None:
        yield current


def _add_row(record: RawRecord, values: dict[str, Any], rowno: int, *, first: bool = False) -> None:
    data = record.data
    assert data is not None
    if not first:
        for f in FILING_FIELDS:
            if f in values and data.get(f) is not None and str(values[f]).strip() != str(data[f]).strip():
                record.problems.append(FieldProblem(
                    f, "rows_disagree", f"row {rowno} says {values[f]!r}, row {record.row} says {data[f]!r}", rowno))
    platform = {f: values.get(f) for f in PLATFORM_FIELDS if f in values}
    if platform:
        data["platforms"].append(platform)
    for d in str(values.get("domains", "")).replace("；", ";").split(";"):
        if d.strip() and d.strip() not in data["domains"]:
            data["domains"].append(d.strip())
