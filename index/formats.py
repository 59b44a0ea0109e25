"""File formats beyond plain text: HTML pages and JSON/JSONL/CSV records (PDF documents: `index.pdf`).

Each `load_*` reads a file; the `*_items` functions take the bytes, so fetched URLs reuse them.
Records (JSON objects, CSV rows) are mapped to articles by field name (`LoadOptions.fields`):
the first present field of each list wins. A JSON object holding a list of article objects (such as
RealTimeQA's `search_result`) is expanded into its articles.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.errors import IngestError

from .items import Item, LoadOptions, Problem, RawArticle, decode_text, read_bytes

MIN_PAGE_WORDS = 10
MAX_NESTING = 10  # lists inside lists in one record field: deeper is not article text
_QUOTED = "'[^'\\\\\n]*'|\"[^\"\\\\\n]*\""  # one quoted string, no escapes inside
_STRING_LIST = re.compile(rf"\[\s*(?:(?:{_QUOTED})\s*(?:,\s*(?:{_QUOTED})\s*)*,?\s*)?\]")  # "['A', 'B']"
_TOO_DEEP = "the JSON is nested too deeply to be article records"
_COMMENTS_LINE = re.compile(r"^(?:\d+\s+)?(?:reader\s+)?(?:comments?|responses?|discussion)(?:\s*\(\d+\))?:?$", re.IGNORECASE)


# ----------------------------------------------------------------------------------------- HTML
def load_html(path: Path, options: LoadOptions) -> Iterator[Item]:
    """An .html page: main text, title, author, date and canonical url by trafilatura; comments kept apart."""
    yield html_article(read_bytes(path, options.max_bytes), str(path))


def html_article(data: bytes | str, origin: str, url: str | None = None, defaults: dict[str, str] | None = None) -> RawArticle:
    """The article in an HTML page; raises IngestError when the page has no article text."""
    from trafilatura import bare_extraction

    if isinstance(data, bytes) and b"\x00" in data[:8192]:
        raise IngestError(f"{origin}: binary data, not an HTML page")
    try:
        doc = bare_extraction(data, url=url, include_comments=True, with_metadata=True, include_tables=True)
    except Exception as exc:
        raise IngestError(f"{origin}: cannot parse the HTML ({exc})") from exc
    found = (doc.as_dict() if hasattr(doc, "as_dict") else doc) if doc is not None else {}
    text = (found.get("text") or "").strip()
    if len(text.split()) < MIN_PAGE_WORDS:  # menus and cookie banners are all some pages have
        raise IngestError(f"{origin}: no article text found in the page")
    defaults = defaults or {}
    title = found.get("title") or defaults.get("title")
    lines = text.split("\n")
    if title and lines[0].strip() == title.strip() and len(lines) > 1:
        text = "\n".join(lines[1:]).strip()  # the headline repeated as the first paragraph
    return RawArticle(
        origin=origin, text=text, title=title, url=found.get("url") or url or defaults.get("url"),
        date=found.get("date") or defaults.get("date"), author=found.get("author") or defaults.get("author"),
        site=found.get("sitename") or defaults.get("site"), fmt="html", comments=_comments(found.get("comments")),
    )


def _comments(text: str | None) -> str | None:
    lines = [line for line in (text or "").split("\n") if line.strip()]
    if lines and _COMMENTS_LINE.match(lines[0].strip()):
        lines = lines[1:]
    return "\n".join(lines) or None


# --------------------------------------------------------------------------------------- records
def load_json(path: Path, options: LoadOptions) -> Iterator[Item]:
    """A .json file: one article object, a list of them, or an object holding such a list."""
    yield from json_items(decode_text(read_bytes(path, options.max_bytes), path), str(path), options)


def json_items(text: str, origin: str, options: LoadOptions) -> Iterator[Item]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise IngestError(f"{origin}: malformed JSON at line {exc.lineno} column {exc.colno} ({exc.msg})") from None
    except RecursionError:
        raise IngestError(f"{origin}: {_TOO_DEEP}") from None
    objects = data if isinstance(data, list) else [data]
    yield from records_to_articles(((f"{origin}#{i}", obj) for i, obj in enumerate(objects)), origin, options)


def load_jsonl(path: Path, options: LoadOptions) -> Iterator[Item]:
    """A .jsonl file: one article object per line (or an object holding a list of articles per line).

    The file is read line by line, so a dump of any size works; the size limit applies to each line.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(8192)
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not head.strip():
        raise IngestError(f"{path}: the file is empty")
    decode_text(head[: head.rfind(b"\n") + 1] or head, path)  # binary or wrongly encoded: one clear error
    yield from jsonl_items(_lines(path, options.max_bytes), str(path), options)


def _lines(path: Path, max_bytes: int) -> Iterator[str | Problem]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"{path}:{number}"
            if len(raw) > max_bytes:
                yield Problem(where, f"{where}: the line is {len(raw):,} bytes, over the {max_bytes:,}-byte limit")
                continue
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield Problem(where, f"{where}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); re-save the file as UTF-8")


def jsonl_items(text: str | Iterator[str | Problem], origin: str, options: LoadOptions) -> Iterator[Item]:
    """Articles from JSON lines (a text, or lines with problems already found); bad lines are problems."""
    bad: list[Problem] = []
    lines = text.splitlines() if isinstance(text, str) else text

    def objects() -> Iterator[tuple[str, Any]]:
        for number, line in enumerate(lines, start=1):
            if isinstance(line, Problem):
                bad.append(line)
                continue
            if not line.strip():
                continue
            try:
                yield f"{origin}#L{number}", json.loads(line)
            except json.JSONDecodeError as exc:
                bad.append(Problem(f"{origin}:{number}", f"{origin}:{number}: malformed JSON line ({exc.msg})"))
            except RecursionError:
                bad.append(Problem(f"{origin}:{number}", f"{origin}:{number}: {_TOO_DEEP}"))

    yield from records_to_articles(objects(), origin, options)
    yield from bad


def load_csv(path: Path, options: LoadOptions) -> Iterator[Item]:
    """A .csv file with a header row: one article per row."""
    text = decode_text(read_bytes(path, options.max_bytes), path)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise IngestError(f"{path}: malformed CSV ({exc})") from None
    yield from records_to_articles(((f"{path}#row{n}", row) for n, row in enumerate(rows, start=2)), str(path), options)


def records_to_articles(objects: Iterator[tuple[str, Any]], origin: str, options: LoadOptions) -> Iterator[Item]:
    """Articles from (origin, object) pairs; a bad record is one problem, a file whose records have no text
    field at all fails once."""
    seen_text_field, missing = False, 0
    for where, obj in objects:
        for record_origin, record in _expand(where, obj, options):
            if not isinstance(record, dict):
                yield Problem(record_origin, f"{record_origin}: not an object with article fields")
                continue
            text_value = _first(record, options.fields["text"])
            if text_value is None:
                missing += 1
                continue
            seen_text_field = True
            try:
                yield _record_item(record, record_origin, origin, text_value, options)
            except IngestError as exc:
                yield Problem(record_origin, f"{record_origin}: {exc}")
    if missing and not seen_text_field:
        names = ", ".join(options.fields["text"])
        raise IngestError(f"{origin}: no record has a text field (looked for {names}); "
                          f"name yours with --field text=NAME")
    if missing:
        yield Problem(origin, f"{missing} record(s) without a text field", failed=False)


def _record_item(record: dict[str, Any], where: str, origin: str, text_value: Any, options: LoadOptions) -> Item:
    """One record's article, or why it has none (text that is a number or yes/no is refused)."""
    if isinstance(text_value, (bool, int, float)):
        kind = "true/false" if isinstance(text_value, bool) else "a number"
        raise IngestError(f"the text field is {json.dumps(text_value)} ({kind}), not article text")
    text = _as_text(text_value)
    if not text.strip():
        return Problem(where, "the record's text is empty", failed=False)
    return _record_article(record, where, origin, text, options)


def _expand(where: str, obj: Any, options: LoadOptions) -> Iterator[tuple[str, Any]]:
    """The article records inside one JSON value: itself, or the objects of its list field."""
    if not isinstance(obj, dict):
        yield where, obj
        return
    name = options.records_field
    if name is None and _first(obj, options.fields["text"]) is None:
        name = next((k for k, v in obj.items() if _is_record_list(v, options)), None)
    if name is None:
        yield where, obj
        return
    items = obj.get(name)
    if not isinstance(items, list):
        yield where, {}  # reported as "no text field" by the caller
        return
    for i, item in enumerate(items):
        yield f"{where}.{name}[{i}]", item


def _is_record_list(value: Any, options: LoadOptions) -> bool:
    return isinstance(value, list) and any(isinstance(v, dict) and _first(v, options.fields["text"]) is not None
                                           for v in value[:20])


def _record_article(record: dict[str, Any], where: str, origin: str, text: str, options: LoadOptions) -> RawArticle:
    fields = options.fields
    return RawArticle(
        origin=where, text=text, title=_field_text(record, fields["title"]), url=_field_text(record, fields["url"]),
        date=_field_text(record, fields["date"]), author=_field_text(record, fields["author"]),
        site=_field_text(record, fields["site"]), fmt="record", source_file=origin,
    )


def _first(record: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in record and record[name] is not None:
            return record[name]
    return None


def _field_text(record: dict[str, Any], names: tuple[str, ...]) -> str | None:
    value = _first(record, names)
    return (_as_text(value).strip() or None) if value is not None else None


def _as_text(value: Any, depth: int = 0) -> str:
    """Strings as they are; lists joined ("['A', 'B']" strings too); {name: ...} objects by their name.

    Nothing is evaluated: a string is read as a list only when it is a plain list of quoted strings.
    """
    if depth > MAX_NESTING:
        raise IngestError(f"a field holds lists nested more than {MAX_NESTING} deep, not article text")
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("[") and _STRING_LIST.fullmatch(stripped):
            return ", ".join(t for t in (q[1:-1].strip() for q in re.findall(_QUOTED, stripped)) if t)
        return value
    if isinstance(value, list):
        return ", ".join(t for t in (_as_text(v, depth + 1).strip() for v in value) if t)
    if isinstance(value, dict):
        return _as_text(value.get("name") or value.get("title") or value.get("text") or "", depth + 1)
    return str(value)
