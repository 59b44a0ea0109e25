"""HTML rendering of answers and their sources for the chat (pure functions over `Answer`/`Source` records).

All article text, titles, sites and URLs are untrusted: every value is escaped here, and only http(s)
URLs become links.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from urllib.parse import urlparse

from rag.records import Answer, Citation, Source

from .state import Turn

_MARKERS = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_REFUSAL_PREFIX = re.compile(r"^\s*not in the articles\s*[:.,-]?\s*", re.IGNORECASE)


def esc(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def safe_url(url: str | None) -> str | None:
    """The URL when it is a plain http(s) link, else None (no javascript:, data: or relative links)."""
    if not url:
        return None
    parsed = urlparse(url.strip())
    return url.strip() if parsed.scheme in ("http", "https") and parsed.netloc else None


def nice_date(iso: str | None) -> str:
    """2021-09-01 -> 1 Sep 2021 (other values are shown as they are)."""
    if not iso:
        return ""
    try:
        day = date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return f"{day.day} {day.strftime('%b %Y')}"


def passage_html(source: Source, anchor: str | None = None) -> str:
    """The passage with its supporting sentences wrapped in <mark> (id `<anchor>-<article offset>` when given)."""
    out, offset = [], source.start
    for part, marked in source.highlighted_parts():
        if marked:
            mark_id = f' id="{anchor}-{offset}"' if anchor else ""
            out.append(f"<mark{mark_id}>{esc(part)}</mark>")
        else:
            out.append(esc(part))
        offset += len(part)
    return "".join(out)


def title_html(source: Source) -> str:
    """The article title, linked to the article when it has a web address."""
    title = esc(source.title or "Untitled article")
    url = safe_url(source.url)
    if not url:
        return f'<span class="nr-title">{title}</span>'
    return f'<a class="nr-title" href="{esc(url)}" target="_blank" rel="noopener noreferrer">{title}</a>'


def byline_html(source: Source) -> str:
    """Site · date · score, and a tag for reader comments."""
    bits = [esc(x) for x in (source.site, nice_date(source.date)) if x]
    bits.append(f'<span class="nr-score" title="retrieval score">score {source.score:.2f}</span>')
    if source.kind == "comment":
        bits.append('<span class="nr-tag">reader comment</span>')
    return '<div class="nr-byline">' + " · ".join(bits) + "</div>"


def source_card(turn: int, index: int, source: Source, markers: Sequence[int] = ()) -> str:
    """One passage as a card: badge(s), linked title, byline, and the passage with highlights."""
    badges = "".join(f'<span class="nr-badge">{m}</span>' for m in markers)
    return (
        f'<article class="nr-card{" nr-cited" if markers else ""}" id="nr-src-{turn}-{index}" '
        f'data-turn="{turn}" data-src="{index}">'
        f'<div class="nr-card-head">{badges}{title_html(source)}</div>{byline_html(source)}'
        f'<blockquote class="nr-passage">{passage_html(source, f"nr-mark-{turn}-{index}")}</blockquote></article>'
    )


def markers_by_source(turn: Turn) -> dict[int, list[int]]:
    """source index -> the markers that cite it, in marker order, each once (two sentences may cite one passage)."""
    out: dict[int, list[int]] = {}
    for citation in sorted(turn.citations, key=lambda c: c.marker):
        if 0 <= citation.source_index < len(turn.sources):
            markers = out.setdefault(citation.source_index, [])
            if citation.marker not in markers:
                markers.append(citation.marker)
    return out


def cited_text_html(text: str, turn_index: int, turn: Turn) -> str:
    """The answer text escaped, each [n] turned into a badge that opens source n."""
    by_marker: dict[int, list[Citation]] = {}
    for c in turn.citations:
        if 0 <= c.source_index < len(turn.sources):
            by_marker.setdefault(c.marker, []).append(c)
    used: dict[int, int] = {}
    sentence_start = 0

    def badge(match: re.Match[str]) -> str:
        out = []
        for raw in match.group(1).split(","):
            marker = int(raw)
            citation = _citation_for(by_marker.get(marker, []), used.get(marker, 0), text[sentence_start : match.start()])
            if citation is None:
                continue
            used[marker] = used.get(marker, 0) + 1
            index = citation.source_index
            # the href names the supporting sentence's <mark> when the citation says where it is
            target = f"nr-mark-{turn_index}-{index}-{citation.start}" if citation.start is not None else f"nr-src-{turn_index}-{index}"
            title = esc(turn.sources[index].title or "source")
            out.append(
                f'<a class="nr-cite" href="#{target}" title="{title}" aria-label="source {citation.marker}: {title}">'
                f"{citation.marker}</a>"
            )
        return "".join(out)

    pieces, cursor = [], 0
    for match in _MARKERS.finditer(text):
        pieces.append(esc(text[cursor : match.start()]).rstrip(" ") if match.start() else "")
        pieces.append(badge(match))
        cursor = sentence_start = match.end()
    pieces.append(esc(text[cursor:]))
    html_text = "".join(pieces)
    for sentence in turn.unsupported:  # kept in the answer, but visibly without support
        escaped = esc(sentence.strip())
        html_text = html_text.replace(
            escaped, f'<span class="nr-unsupported" title="No stored passage supports this sentence">{escaped}</span>', 1,
        )
    return html_text.replace("\n\n", "<br><br>").replace("\n", "<br>")


def _citation_for(citations: Sequence[Citation], occurrence: int, sentence: str) -> Citation | None:
    """The citation behind one [n]: the one whose claim is this sentence, else the n-th of that marker."""
    if not citations:
        return None
    sentence = " ".join(_MARKERS.sub("", sentence).split())
    for citation in citations:
        claim = " ".join(str(getattr(citation, "claim", "") or "").split())
        if claim and (claim in sentence or sentence.endswith(claim)):
            return citation
    return citations[min(occurrence, len(citations) - 1)]


def answer_html(turn_index: int, turn: Turn) -> str:
    """The assistant's chat message: cited answer or a visibly different refusal, and a meta line."""
    meta = [f"{len(markers_by_source(turn))} cited of {len(turn.sources)} passages" if not turn.refused else
            f"{len(turn.sources)} closest passages under Sources" if turn.sources else "no passages found"]
    if turn.rewritten:
        meta.append(f"searched for “{esc(turn.rewritten)}”")
    if turn.unsupported and not turn.refused:
        n = len(turn.unsupported)
        meta.append(f'<span class="nr-unsupported-note">{n} sentence{"s" if n != 1 else ""} not supported by '
                    "any passage (underlined)</span>")
    if turn.total_ms is not None:
        meta.append(f"{turn.answerer} · {turn.total_ms / 1000:.1f} s")
    copy = '<a class="nr-copy" href="#copy" title="Copy the answer and its sources as text">Copy</a>'
    meta_html = f'<div class="nr-meta">{" · ".join(meta)} · {copy}</div>'
    if turn.refused:
        body = _REFUSAL_PREFIX.sub("", turn.text) or turn.text
        body = body[:1].upper() + body[1:]
        return (
            f'<div class="nr-answer nr-refusal nr-t-{turn_index}">'
            f'<div class="nr-refusal-head">Not in the articles</div>'
            f'<div class="nr-text">{esc(body)}</div>{meta_html}</div>'
        )
    return (
        f'<div class="nr-answer nr-t-{turn_index}">'
        f'<div class="nr-text">{cited_text_html(turn.text, turn_index, turn)}</div>{meta_html}</div>'
    )


def streaming_html(text: str) -> str:
    """The answer while it is written: escaped text, [n] as plain badges (linked once verified), a cursor."""
    body = _MARKERS.sub(lambda m: "".join(f'<span class="nr-cite">{int(n)}</span>' for n in m.group(1).split(",")),
                        esc(text))
    return f'<div class="nr-answer nr-streaming"><div class="nr-text">{body}<span class="nr-cursor"></span></div></div>'


def turn_sources_html(turn_index: int, turn: Turn, active: bool) -> str:
    """The sources of one answer: cited passages first, the other retrieved passages collapsed below."""
    cited = markers_by_source(turn)
    head = (
        f'<div class="nr-turn-head"><span class="nr-turn-label">Sources for</span> '
        f'<q>{esc(turn.question)}</q></div>'
    )
    cards = [source_card(turn_index, i, turn.sources[i], m) for i, m in sorted(cited.items(), key=lambda kv: kv[1][0])]
    others = [source_card(turn_index, i, s) for i, s in enumerate(turn.sources) if i not in cited]
    if not turn.sources:
        cards.append('<p class="nr-empty">No stored passage matched this question.</p>')
    if others:
        label = "closest passages (none answers the question)" if turn.refused else "more retrieved passages (not cited)"
        cards.append(
            f'<details class="nr-more"{" open" if turn.refused and not cited else ""}>'
            f"<summary>{len(others)} {label}</summary>{''.join(others)}</details>"
        )
    cls = "nr-turn nr-active" if active else "nr-turn"
    return f'<section class="{cls}" data-turn="{turn_index}">{head}{"".join(cards)}</section>'


def sources_panel_html(turns: Sequence[Turn], stats: Mapping[str, Any] | None = None) -> str:
    """The panel beside the chat: one section per answer; the latest is shown, [n] clicks switch."""
    if not turns:
        hint = (
            '<div class="nr-placeholder"><div class="nr-placeholder-icon">❝</div>'
            "<p><b>Sources appear here.</b> Every sentence of an answer ends in a numbered badge; "
            "click it to see the passage it comes from, with the supporting sentence highlighted.</p>"
        )
        if stats:
            hint += f'<p class="nr-muted">{esc(stats.get("summary", ""))}</p>'
        return f'<div class="nr-sources">{hint}</div></div>'
    sections = [turn_sources_html(i, t, i == len(turns) - 1) for i, t in enumerate(turns)]
    return '<div class="nr-sources">' + "".join(sections) + "</div>"


# ---------------------------------------------------------------- kept for scripts and the CLI
def answer_markdown(answer: Answer) -> str:
    """A whole answer as one HTML block: the text, then the cited passages (or closest articles on refusal)."""
    turn = Turn.from_answer(answer)
    return answer_html(0, turn) + turn_sources_html(0, turn, active=True)


def header_html(summary: str) -> str:
    """The chat's header: the name, the tagline and what the collection holds."""
    return (
        '<div class="nr-header"><div class="nr-brand">news<span>rag</span></div>'
        '<div class="nr-tagline">Answers from your news articles, every sentence cited.</div>'
        f'<div class="nr-stats" id="nr-stats">{esc(summary)}</div></div>'
    )
