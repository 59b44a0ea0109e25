"""Example questions for the chat, written from the stored articles without a language model.

A reader asks about people and places, so each article gives one question:

- someone quoted in its first paragraphs: "What did Milley say about ISIS-K?" (the topic is a name from
  the headline that the quoted sentence mentions; "What did X say?" alone is too vague to answer);
- else the place or name the headline is about: "What happened in Marlow Valley?".

Names are told from ordinary words by their case in the article body (a headline capitalises everything).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from rag import text as tx
from rag.records import ArticleInfo

_TITLE_WORDS = r"(?:Gen\.|Gen|General|Dr\.|Dr|Mr\.|Ms\.|Mrs\.|Governor|President|Captain|Capt\.|Coach|Chairman|Minister|Senator|Mayor|Judge)"
_NAME = r"[A-Z][a-z'’-]+(?: [A-Z][a-z'’-]+){1,2}"
_SAID = r"(?:said|says|told|warned|added)"
_SPEAKERS = (
    re.compile(rf"(?:{_TITLE_WORDS} )+(?P<name>{_NAME})(?:,[^,]{{1,80}},)? {_SAID}\b"),  # Gen. Mark Milley said
    re.compile(rf"\b{_SAID} (?:{_TITLE_WORDS} )?(?P<name>{_NAME}),"),                    # ..., said Mariam Sadat,
    re.compile(rf"(?<![\w.] )(?<!^)\b(?P<name>{_NAME}) {_SAID}\b"),                       # Lewis Obi said
)
_NOT_NAMES = frozenset("The This That These Those It He She They We In On At For And But Last First".split())
_NOT_PEOPLE = _NOT_NAMES | frozenset("County City State Service Council Committee Department Police Office Agency "
                                     "University Court Board Bank".split())
_CONNECTORS = frozenset("of the and de van von la".split())
_LEAD_SENTENCES = 8


def example_questions(articles: Sequence[ArticleInfo], texts_of: Callable[[list[str]], Mapping[str, str]],
                      count: int = 4) -> list[tuple[str, str]]:
    """(question, article id) for up to `count` articles, newest first and different sites first.

    `texts_of(article_ids)` gives article texts (`Store.article_texts`); only the 40 newest are read.
    """
    picked: list[ArticleInfo] = []
    seen_sites: set[str | None] = set()
    ordered = sorted((a for a in articles if a.title), key=lambda a: a.date or "", reverse=True)[:40]
    texts = texts_of([a.article_id for a in ordered]) if ordered else {}
    for article in ordered:  # one per site first, then fill up
        if article.site not in seen_sites:
            picked.append(article)
            seen_sites.add(article.site)
    picked += [a for a in ordered if a not in picked]
    out: list[tuple[str, str]] = []
    for article in picked:
        question = question_for(article.title, texts.get(article.article_id, ""))
        if question and question not in (q for q, _ in out):
            out.append((question, article.article_id))
        if len(out) == count:
            break
    return out


def question_for(title: str, text: str) -> str | None:
    """A question a reader of this article could ask, or None when the article gives nothing to ask about."""
    flat = " ".join(text.split())
    sentences = [flat[a:b] for a, b in tx.sentence_spans(flat)[:_LEAD_SENTENCES]]
    names = _names_in_title(title, text)
    for sentence in sentences:
        speaker = _speaker(sentence)
        about = next((n for n in reversed(names) if n in sentence and n not in (speaker or "")), None)
        if speaker and about:
            return f"What did {speaker.split()[-1]} say about {about}?"
    for name in names:
        place = re.search(rf"\b(in|at|on) (?:the )?{re.escape(name)}\b", text)
        if place:
            return f"What happened {place.group(1)} {name}?"
    several = [n for n in names if " " in n]  # one capitalised word may be an adjective ("Black", "Flawed")
    return f"What is the news about {several[0]}?" if several else None


def _speaker(sentence: str) -> str | None:
    for pattern in _SPEAKERS:
        for match in pattern.finditer(sentence):
            name = match.group("name")
            if not set(name.split()) & _NOT_PEOPLE:
                return name
    return None


def _names_in_title(title: str, text: str) -> list[str]:
    """The proper names of a headline, in order: runs of words the article body also writes capitalised."""
    names: list[str] = []
    run: list[str] = []
    for word in (w.removesuffix("’s").removesuffix("'s") for w in re.findall(r"[\w’'-]+", title)):
        proper = word[:1].isupper() and re.search(rf"(?<![.!?”\"]\s)(?<!^)\b{re.escape(word)}\b", text) is not None
        if proper and word not in _NOT_NAMES or (run and word in _CONNECTORS and proper is False and word.islower()):
            run.append(word)
            continue
        if run:
            names.append(" ".join(_trim(run)))
        run = []
    if run:
        names.append(" ".join(_trim(run)))
    return [n for n in names if n]


def _trim(run: list[str]) -> list[str]:
    while run and run[-1] in _CONNECTORS:
        run = run[:-1]
    return run
