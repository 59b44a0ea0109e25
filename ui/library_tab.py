"""The Library tab: the stored articles in a searchable table, adding files or URLs with progress, deleting."""


from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rag.records import ArticleInfo

from . import library
from .conversation import ChatSession
from .http.auth import Access
from .render import esc, nice_date, safe_url

HEADERS = ["Title", "Source", "Date", "Chunks"]
MAX_ROWS = 500  # rows sent to the browser at once


def article_rows(articles: list[ArticleInfo]) -> list[list[Any]]:
    return [[a.title or "Untitled", a.site or "", a.date or "", a.chunks] for a in articles]


def article_detail_html(article: ArticleInfo) -> str:
    url = safe_url(article.url)
    title = esc(article.title or "Untitled article")
    title = f'<a class="nr-title" href="{esc(url)}" target="_blank" rel="noopener noreferrer">{title}</a>' if url else title
    byline = " · ".join(esc(x) for x in (article.site, nice_date(article.date), article.author) if x)
    origin = Path(article.origin.split("#", 1)[0]).name if article.origin and "://" not in article.origin else article.origin
    return (
        f'<div class="nr-article"><h3>{title}</h3><div class="nr-byline">{byline}</div>'
        f'<div class="nr-lib-note">{article.chunks} chunks · {article.chars:,} characters · added '
        f'{esc((article.ingested_at or "")[:10])}<br>from {esc(origin)} · id <code>{esc(article.article_id)}</code></div></div>'
    )


def report_html(report: Any, names: dict[str, str], errors: list[str]) -> str:
    """The outcome of an add: what was stored, what was already there, and one line per problem."""
    def named(origin: str) -> str:
        return names.get(origin, Path(origin).name if "://" not in origin else origin)

    lines = []
    if report is not None:
        stored = report.added + report.updated
        if stored:
            done = [f"{verb} {n}" for verb, n in (("added", report.added), ("updated", report.updated)) if n]
            text = " and ".join(done).capitalize()
            lines.append(f'<div class="nr-report-ok">✓ {text} article{"s" if stored != 1 else ""} '
                         f'({report.chunks} chunk{"s" if report.chunks != 1 else ""}) in {report.seconds:.1f} s.</div>')
        if report.unchanged:
            lines.append(f"<div>{report.unchanged} already in the library, unchanged.</div>")
        problems = [(o, r) for o, r in report.failed] + [(o, r) for o, r in report.skipped]
        errors = errors + [f"{named(o)}: {r.replace(o, named(o))}" for o, r in problems]
    lines += [f'<div class="nr-report-bad">✗ {esc(e)}</div>' for e in errors]
    return "".join(lines) or '<div class="nr-lib-note">Nothing to add: choose files or give web addresses.</div>'


class LibraryTab:
    """Handlers of the Library tab; `on_change` lets the chat refresh after articles are added or deleted."""

    # table refreshes run one at a time, in the order they were asked for (the last search wins)
    REFRESH_QUEUE: ClassVar[dict[str, Any]] = {"concurrency_id": "nr-library-refresh", "concurrency_limit": 1}

    def __init__(self, session: ChatSession, max_upload_bytes: int | None, access: Access | None = None) -> None:
        self.session = session
        self.settings = session.settings
        self.access = access or Access()
        self.max_bytes = max_upload_bytes or self.settings.max_article_bytes
        self.allowed = library.allowed_types()
        self.changed: list[Any] = []  # events after which the collection changed
        self.outputs: list[Any] = []
        self.inputs: list[Any] = []

    def refresh(self, query: str = "") -> tuple[list[list[Any]], list[str], str]:
        stored = self.session.articles()
        articles = library.search_articles(stored, query or "")
        note = f"{len(articles)} of {len(stored)} articles" if query else f"{len(stored)} articles"
        if len(articles) > MAX_ROWS:
            note += f"; showing the newest {MAX_ROWS}, search to narrow them down"
            articles = articles[:MAX_ROWS]
        return article_rows(articles), [a.article_id for a in articles], note

    def select(self, ids: list[str], event: Any) -> tuple[Any, ...]:
        import gradio as gr

        row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        article = next((a for a in self.session.articles() if 0 <= row < len(ids) and a.article_id == ids[row]), None)
        if article is None:
            return None, "<div class='nr-lib-note'>That article is no longer stored.</div>", gr.Button(visible=False), gr.Row(visible=False)
        return article.article_id, article_detail_html(article), gr.Button(visible=True), gr.Row(visible=False)

    def refusal(self, username: str | None) -> str | None:
        """Why this reader may not add or delete articles (None: they may)."""
        if not self.access.enabled:
            return None
        if not self.access.admin_key:
            return "Adding and deleting articles is switched off on this server (it has no admin key)."
        if username != "admin":
            return "Only the admin may add or delete articles: log out and log in as user “admin” with the admin key."
        return None

    def delete(self, article_id: str | None, query: str, username: str | None = None) -> tuple[Any, ...]:
        import gradio as gr

        articles = self.session.articles()
        article = next((a for a in articles if a.article_id == article_id), None)
        refused = self.refusal(username)
        if refused:
            gr.Warning(refused)
        elif article is None:
            gr.Warning("Select an article in the table first.")
        else:
            report = library.delete_articles([article.article_id], articles, self.settings)
            if report.failed:
                gr.Warning(report.failed[0][1])
            else:
                gr.Info(f"Deleted “{article.title}”.")
        rows, ids, note = self.refresh(query)
        empty = "<div class='nr-lib-note'>Select an article in the table to see it or delete it.</div>"
        return rows, ids, note, None, empty, gr.Button(visible=False), gr.Row(visible=False)

    def add(self, files: list[Any] | None, urls_text: str, query: str, progress: Callable[..., Any],
            username: str | None = None) -> tuple[Any, ...]:
        refused = self.refusal(username)
        if refused:
            rows, ids, note = self.refresh(query)
            return report_html(None, {}, [refused]), rows, ids, note, files, urls_text
        targets, names, errors = [], {}, []
        store = Path(self.settings.store)
        if len(files or []) > self.settings.max_upload_files:
            errors.append(f"{len(files or [])} files at once; the limit is {self.settings.max_upload_files} "
                          "(NEWSRAG_MAX_UPLOAD_FILES).")
            files = []
        for item in files or []:
            path = Path(getattr(item, "name", None) or str(item))
            name = Path(getattr(item, "orig_name", None) or path.name).name
            problem = library.check_upload(path, name, self.max_bytes, self.allowed)
            if problem:
                errors.append(problem)
                continue
            saved = library.save_upload(path, name, store)
            targets.append(str(saved))
            names[str(saved)] = name
        urls, url_errors = library.parse_urls(urls_text or "")
        targets += urls
        errors += url_errors
        report = None
        if targets:
            try:
                report = library.add_articles(targets, self.session.assistant, lambda f, d: progress(f, desc=d))
            except Exception as exc:  # noqa: BLE001 - shown to the reader; the store is left as it was
                errors.append(str(exc))
        rows, ids, note = self.refresh(query)
        ok = report is not None and not report.failed and not errors
        return report_html(report, names, errors), rows, ids, note, None if ok else files, "" if ok else urls_text

    def on_change(self, fn: Callable[[], Any], outputs: list[Any]) -> None:
        for event in self.changed:
            event.then(fn, None, outputs, show_progress="hidden")


def build_library_tab(gr: Any, session: ChatSession, max_upload_bytes: int | None,
                      access: Access | None = None) -> LibraryTab:
    """Lay out the Library tab (inside an open gr.Tab) and wire its events."""
    tab = LibraryTab(session, max_upload_bytes, access)
    _wire(gr, tab, _layout(gr, tab))
    return tab


def _layout(gr: Any, tab: LibraryTab) -> dict[str, Any]:
    rows, ids, note = tab.refresh()
    c: dict[str, Any] = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=340):
            c["query"] = gr.Textbox(show_label=False, placeholder="Search titles, sources, dates…", elem_id="nr-lib-search")
            c["table"] = gr.Dataframe(value=rows, headers=HEADERS, interactive=False, wrap=True, max_height=560,
                                      elem_id="nr-lib-table", column_widths=["52%", "24%", "15%", "9%"])
            c["count"] = gr.Markdown(note, elem_classes=["nr-lib-note"], elem_id="nr-lib-count")
        with gr.Column(scale=2, min_width=300):
            gr.Markdown("#### Article")
            c["detail"] = gr.HTML("<div class='nr-lib-note'>Select an article in the table to see it or delete it.</div>",
                                  elem_id="nr-lib-detail", js_on_load=None)
            c["delete"] = gr.Button("Delete this article", variant="stop", visible=False, size="sm", elem_id="nr-delete")
            with gr.Row(visible=False) as c["confirm_row"]:
                c["confirm"] = gr.Button("Yes, delete it", variant="stop", size="sm", elem_id="nr-delete-confirm")
                c["cancel"] = gr.Button("Cancel", size="sm")
            gr.Markdown("#### Add articles")
            c["files"] = gr.File(
                file_count="multiple", file_types=tab.allowed, elem_id="nr-upload",
                label=f"Files: {library.type_names(tab.allowed)}, up to {library.size_text(tab.max_bytes)} each",
            )
            c["urls"] = gr.Textbox(label="Web addresses", placeholder="https://… (one per line)", lines=2, elem_id="nr-urls")
            c["add"] = gr.Button("Add to library", variant="primary", elem_id="nr-add")
            c["result"] = gr.HTML("", elem_id="nr-add-result", js_on_load=None)
    c["ids"], c["selected"] = gr.State(ids), gr.State(None)
    return c


def _wire(gr: Any, tab: LibraryTab, c: dict[str, Any]) -> None:
    tab.outputs, tab.inputs = [c["table"], c["ids"], c["count"]], [c["query"]]
    c["query"].change(tab.refresh, [c["query"]], tab.outputs, show_progress="hidden", **tab.REFRESH_QUEUE)
    choice = [c["delete"], c["confirm_row"]]

    def select(ids: list[str], event: gr.SelectData) -> tuple[Any, ...]:
        return tab.select(ids, event)

    c["table"].select(select, [c["ids"]], [c["selected"], c["detail"], *choice])
    c["delete"].click(lambda: (gr.Button(visible=False), gr.Row(visible=True)), None, choice)
    c["cancel"].click(lambda: (gr.Button(visible=True), gr.Row(visible=False)), None, choice)
    progress_bar = gr.Progress()  # Gradio fills in a progress bar for a parameter defaulting to one

    def add_files(files: Any, urls_text: str, query_text: str, request: gr.Request,
                  progress: Any = progress_bar) -> tuple[Any, ...]:
        return tab.add(files, urls_text, query_text, progress, getattr(request, "username", None))

    def delete(article_id: str | None, query_text: str, request: gr.Request) -> tuple[Any, ...]:
        return tab.delete(article_id, query_text, getattr(request, "username", None))

    tab.changed = [
        c["confirm"].click(delete, [c["selected"], c["query"]], [*tab.outputs, c["selected"], c["detail"], *choice]),
        c["add"].click(add_files, [c["files"], c["urls"], c["query"]], [c["result"], *tab.outputs, c["files"], c["urls"]]),
    ]
