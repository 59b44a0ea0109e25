"""HTML/Markdown rendering of answers and sources for the chat (pure functions, easy to test)."""

from __future__ import annotations

import html

from rag.records import Answer, Source


def passage_html(source: Source) -> str:
    """The passage with its supporting sentences wrapped in <mark>."""
    return "".join(
        f"<mark>{html.escape(part)}</mark>" if marked else html.escape(part)
        for part, marked in source.highlighted_parts()
    )


def source_html(n: int, source: Source) -> str:
    """One cited source: [n], linked title, site and date, and the highlighted passage."""
    title = html.escape(source.title or "Untitled article")
    if source.url:
        title = f'<a href="{html.escape(source.url, quote=True)}" target="_blank" rel="noopener">{title}</a>'
    details = " · ".join(html.escape(x) for x in (source.site or "", source.date or "") if x)
    kind = ' <span class="newsrag-kind">reader comment</span>' if source.kind == "comment" else ""
    return (
        f'<div class="newsrag-source" id="source-{n}"><b>[{n}]</b> {title}{kind}'
        + (f'<br><small>{details}</small>' if details else "")
        + f'<blockquote>{passage_html(source)}</blockquote></div>'
    )


def answer_markdown(answer: Answer) -> str:
    """The chat message: the answer text, then the cited passages (or the closest articles on refusal)."""
    if answer.refused:
        return f"⚠️ **{html.escape(answer.text)}**"
    parts = [html.escape(answer.text), "", "**Sources**"]
    parts.extend(source_html(n, s) for n, s in enumerate(answer.cited_sources, start=1))
    return "\n".join(parts)
