"""Every input format ingests into articles with normalised metadata; bad inputs cost one line each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import index
from rag.settings import Settings
from rag.store.collection import Store
from tests.conftest import ROOT, run_cli, shared_path

DATA = ROOT / "tests" / "data"
WIRE = (
    "The harbor pilots of Port Calder returned to work on Thursday after a two-day strike that held up 41 cargo "
    "ships, the port authority said. The pilots accepted a 6 percent raise over three years and a new rest rule. "
    "Shipping agents said the backlog would take a week to clear. The union had asked for 9 percent."
)

PAGE = """<html><head><title>Ferry News | Arden Gazette</title>
<link rel="canonical" href="https://arden-gazette.example/2024/05/02/solar-ferry/?utm_source=rss">
<meta name="author" content="Jane Roe"><meta property="og:site_name" content="Arden Gazette">
<meta property="article:published_time" content="2024-05-02T10:00:00Z"></head>
<body><nav><a href="/">Home</a> | <a href="/news">News</a></nav>
<article><h1>Solar Ferry Begins Service on Lake Arden</h1>
<p>The solar ferry carried 84 passengers across Lake Arden on its first day, the operator said on Friday.</p>
<p>It crossed the lake in 22 minutes, four minutes faster than the diesel boat it replaces.</p>
<p>"We are thrilled with the first week," the mayor of Westport said at the landing.</p></article>
<div class="comments" id="comments"><h3>Comments</h3>
<div class="comment"><p>Great news for the lake, I hope they add more boats next summer!</p></div>
<div class="comment"><p>Will the fares go up? Nobody says anything about the price.</p></div></div>
<footer>Copyright 2024 Arden Gazette</footer></body></html>"""


def _articles(store: Path) -> dict[str, dict]:
    chroma = Store(Settings(store=store))
    return {meta["title"]: {"id": i, **meta} for i, meta in chroma.registry_records()}


def _chunks(store: Path, article_id: str) -> list:
    return Store(Settings(store=store)).chunks_of(article_id)


def test_html_page_main_text_metadata_and_comments(tmp_path: Path) -> None:
    (tmp_path / "ferry.html").write_text(PAGE, encoding="utf-8")
    report = index.ingest([tmp_path / "ferry.html"], store=tmp_path / "s")
    assert report.ok and report.added == 1, report.failed
    (title, meta), = _articles(tmp_path / "s").items()
    assert title == "Solar Ferry Begins Service on Lake Arden"
    assert meta["url"] == "https://arden-gazette.example/2024/05/02/solar-ferry/"  # canonical, tracking removed
    assert (meta["date"], meta["author"], meta["site"]) == ("2024-05-02", "Jane Roe", "Arden Gazette")
    chunks = _chunks(tmp_path / "s", meta["id"])
    body = " ".join(c.text for c in chunks if c.kind == "body")
    comments = " ".join(c.text for c in chunks if c.kind == "comment")
    assert "84 passengers" in body and "Home" not in body and "Copyright" not in body
    assert "add more boats" in comments and "fares go up" in comments


def test_json_list_jsonl_and_csv_records_with_default_fields(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "list.json").write_text(json.dumps([
        {"headline": "Council Passes Budget", "body": "The council passed the budget 5-2 on Monday night.",
         "link": "https://a.example/budget", "published": "March 3, 2024", "byline": "Ann Lee"},
        {"title": "Library Opens Late", "content": "The library will open until 9 pm from June.",
         "url": "https://a.example/library", "date": "2024-06-01", "source": {"name": "Ledger"}},
    ]))
    (folder / "feed.jsonl").write_text(
        json.dumps({"title": "Bridge Closed For Repairs", "text": "The old bridge closes for repairs on Friday.",
                    "url": "https://b.example/bridge", "publish_date": "2024/05/06", "authors": "['Bo Kim', 'Al Ray']"})
        + "\n\n")
    (folder / "table.csv").write_text('title,text,url,date\nSchool Wins Award,"The school won, again, a '
                                      'national award.",https://c.example/award,05/07/2024\n')
    report = index.ingest([folder], store=tmp_path / "s")
    assert report.ok and report.added == 4, report.failed
    stored = _articles(tmp_path / "s")
    assert stored["Council Passes Budget"]["date"] == "2024-03-03"
    assert stored["Council Passes Budget"]["author"] == "Ann Lee"
    assert stored["Library Opens Late"]["site"] == "Ledger"
    assert stored["Bridge Closed For Repairs"]["author"] == "Bo Kim, Al Ray"
    assert stored["Bridge Closed For Repairs"]["date"] == "2024-05-06"
    assert stored["School Wins Award"]["url"] == "https://c.example/award"


def test_custom_field_names_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").write_text(json.dumps({"hed": "Mayor Resigns", "story": "The mayor resigned today."}) + "\n")
    result = run_cli("ingest", str(tmp_path / "x.jsonl"), "--store", str(tmp_path / "s"),
                     "--field", "title=hed", "--field", "text=story", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["added"] == 1
    assert "Mayor Resigns" in _articles(tmp_path / "s")


def test_pdf_text_and_document_info(tmp_path: Path) -> None:
    report = index.ingest([DATA / "harbor-pilots.pdf"], store=tmp_path / "s")
    assert report.ok, report.failed
    (title, meta), = _articles(tmp_path / "s").items()
    assert title == "Harbor Pilots Strike Ends After Two Days"
    assert (meta["author"], meta["date"]) == ("Mina Ortiz", "2024-03-12")
    text = " ".join(c.text for c in _chunks(tmp_path / "s", meta["id"]))
    assert "a two-day strike that held up 41 cargo ships" in text  # wrapped lines re-joined


@pytest.mark.slow
def test_realtimeqa_search_results_are_expanded(tmp_path: Path) -> None:
    source = shared_path("realtimeqa", "2025-q1", "20250103_gcs.jsonl")
    rows = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()[:2]]
    # two questions with their first four search results each (of ten): the expansion, not the size, is tested
    lines = [json.dumps({**row, "search_result": row["search_result"][:4]}) for row in rows]
    (tmp_path / "week_gcs.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = {a["url"] for line in lines for a in json.loads(line)["search_result"] if (a.get("text") or "").strip()}
    report = index.ingest([tmp_path / "week_gcs.jsonl"], store=tmp_path / "s")
    assert report.ok, report.failed
    stored = _articles(tmp_path / "s").values()
    urls = {u for meta in stored for u in json.loads(meta["urls"])}
    assert len(urls) == len(expected)
    assert all(meta["date"] and meta["site"] for meta in stored)
    explicit = run_cli("ingest", str(tmp_path / "week_gcs.jsonl"), "--store", str(tmp_path / "s2"),
                       "--records", "search_result", "--json")
    assert json.loads(explicit.stdout)["added"] == report.added


BAD_FILES = [  # (name, bytes, what its one line says)
    ("broken.json", b'{"title": "A", "text": "B",', "malformed JSON at line 1"),
    ("nothing.json", b'[{"title": "No text here"}]', "no record has a text field"),
    ("image.pdf", b"%PDF-1.4 not really", "not a readable PDF"),
    ("huge.txt", b"word " * 300, "over the 1,000-byte limit"),
    ("latin1.csv", "title,text\nCaf\u00e9,na\u00efve".encode("latin-1"), "not UTF-8"),
    ("blank.html", b"<html><body><nav>Home</nav></body></html>", "no article text"),
]


def test_each_bad_file_is_one_line_and_the_rest_is_stored(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name, data, _ in BAD_FILES:
        (folder / name).write_bytes(data)
    (folder / "good.txt").write_text("Title: Good Article About Ferries\n\nThe ferry ran on time all week.")
    result = run_cli("ingest", str(folder), "--store", str(tmp_path / "s"), "--max-bytes", "1000")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert len(errors) == len(BAD_FILES), result.stderr
    for name, _, reason in BAD_FILES:
        (line,) = [e for e in errors if f"/{name}" in e]
        assert reason in line, line
    assert "1 added" in result.stdout


def test_malformed_jsonl_line_costs_only_that_line(tmp_path: Path) -> None:
    good = json.dumps({"title": "Dam Opens Gates", "text": "The dam opened two gates after the rain."})
    other = json.dumps({"title": "Weir Is Rebuilt", "text": "The old weir is rebuilt with stone from the quarry."})
    (tmp_path / "x.jsonl").write_text(good + "\n{not json}\n" + other + "\n")
    report = index.ingest([tmp_path / "x.jsonl"], store=tmp_path / "s")
    assert report.added == 2
    (origin, reason), = report.failed
    assert origin.endswith("x.jsonl:2") and "malformed JSON line" in reason
