"""The Timeline tab: type a story, pick an "as of" day, see its events by day, each sentence cited.

A client of `Assistant.timeline`; the tab keeps its own badges (`nr-tl-cite`, plain anchors to the
source cards below), so the chat's citation script leaves it alone.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from rag.answering.timeline import Timeline
from rag.errors import NewsragError
from rag.records import Source
from rag.timewindow import describe_days

from .assets import asset_text
from .conversation import ChatSession, parse_day
from .render import esc, source_card

EXAMPLE = "DC plane crash"
CARDS = -1  # the "turn" of the tab's source cards: their ids (nr-src--1-N) are unlike any chat answer's


def timeline_html(timeline: Timeline) -> str:
    """The timeline as HTML: a heading, one section per day with its events and outlets, then the sources."""
    scope = f"from {timeline.window.describe()}" if timeline.window else f"up to {_day(timeline.as_of[:10])}"
    if not timeline.events:
        return (f'<div class="nr-timeline"><p class="nr-empty">No article {esc(scope)} reports events of '
                f"“{esc(timeline.topic)}”. Try other words or a later “as of” day.</p></div>")
    head = (f'<div class="nr-tl-head">How “{esc(timeline.topic)}” unfolded, in articles {esc(scope)}'
            f'<span class="nr-muted">{len(timeline.events)} events from {len(timeline.sources)} articles</span></div>')
    days = []
    for day, events in timeline.days():
        items = []
        for event in events:
            badges = "".join(f'<a class="nr-tl-cite" href="#nr-src-{CARDS}-{c.source_index}" '
                             f'title="{esc(timeline.sources[c.source_index].title)}">{c.marker}</a>' for c in event.citations)
            outlets = " · ".join(_outlet(timeline.sources[c.source_index], c.marker) for c in event.citations)
            items.append(f'<div class="nr-tl-event"><span class="nr-tl-text">{esc(event.text)}</span>{badges}'
                         f'<div class="nr-tl-outlets">{outlets}</div></div>')
        days.append(f'<section class="nr-tl-day"><div class="nr-tl-date">{esc(_day(day) if day else "Undated")}</div>'
                    f'{"".join(items)}</section>')
    markers: dict[int, list[int]] = {}
    for event in timeline.events:
        for c in event.citations:
            markers.setdefault(c.source_index, []).append(c.marker)
    cards = "".join(source_card(CARDS, i, s, sorted(set(markers.get(i, [])))) for i, s in enumerate(timeline.sources))
    sources = f'<details class="nr-tl-sources"><summary>{len(timeline.sources)} sources</summary>{cards}</details>'
    return f'<div class="nr-timeline">{head}{"".join(days)}{sources}</div>'


def _outlet(source: Source, marker: int) -> str:
    """[n] site: “title” (shortened), for the line under an event."""
    title = source.title if len(source.title) <= 70 else source.title[:68].rstrip() + "…"
    return f"[{marker}] {esc(source.site or 'unknown site')}: “{esc(title)}”"


def _day(iso: str) -> str:
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return describe_days(day, day)


class TimelineTab:
    """The tab's one handler: build the timeline of a story as of a day."""

    def __init__(self, session: ChatSession) -> None:
        self.session = session

    def show(self, topic: str, as_of: Any) -> Any:
        import gradio as gr

        topic = " ".join((topic or "").split())
        if not topic:
            gr.Warning(f"Type a story first, e.g. “{EXAMPLE}”.")
            return gr.skip()
        try:
            day = parse_day(as_of, "As of")
            return timeline_html(self.session.assistant.timeline(topic, as_of=day))
        except NewsragError as exc:
            gr.Warning(str(exc))
            return gr.skip()


def build_timeline_tab(gr: Any, session: ChatSession) -> TimelineTab:
    """The tab's components and events, inside the caller's `gr.Tab`."""
    tab = TimelineTab(session)
    gr.HTML("", head=f"<style>{asset_text('timeline.css')}</style>", js_on_load=None)
    with gr.Row(equal_height=True):
        topic = gr.Textbox(label="Story", placeholder=f"e.g. {EXAMPLE}", elem_id="nr-tl-topic", scale=4,
                           max_length=session.max_question_chars)
        as_of = gr.DateTime(label="As of (empty: now)", include_time=False, type="string", elem_id="nr-tl-as-of",
                            scale=2, min_width=240)
        go = gr.Button("Show timeline", variant="primary", elem_id="nr-tl-go", scale=1, min_width=160)
    out = gr.HTML('<p class="nr-muted">The events of a story, one cited sentence each, by day.</p>',
                  elem_id="nr-timeline-out")
    for trigger in (topic.submit, go.click):
        trigger(tab.show, [topic, as_of], out, concurrency_limit=2)
    return tab
