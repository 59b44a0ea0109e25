"""Follow-up questions: turn "What about the drone strike?" into a question that stands on its own.

`HeuristicRewriter` needs no LLM: it reuses the frame and the names of the previous question
("What did Milley say about ISIS-K?" + "What about the drone strike in Kabul?" -> "What did Milley
say about the drone strike in Kabul?"). `LLMRewriter` asks the LLM and falls back to the heuristic
when the LLM's rewrite is empty or drops the new topic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .. import prompts
from .. import text as tx
from ..errors import BackendError, QueryError
from .base import REFUSAL

_MARKERS = re.compile(r"\s*\[\d{1,3}\]")
REFUSAL_PREFIX = REFUSAL.rstrip(".")  # every refusal starts "Not in the articles"
_BOILERPLATE = re.compile(r"A reader commented:|In articles from [^:]{3,60}:|Closest articles:", re.IGNORECASE)
_WHAT_ABOUT = re.compile(
    r"^\s*(?:(?:and|but|so|ok(?:ay)?|also)[\s,]+)*(?:what|how)\s+about\s+(?P<topic>.+?)\s*[?.!]*\s*$", re.IGNORECASE
)
_FRAME_ABOUT = re.compile(r"^(?P<frame>.*\b(?:about|on|regarding)\s+)(?P<topic>[^?]+?)\s*[?.!]*\s*$", re.IGNORECASE)
_FOLLOW_UP_START = re.compile(
    r"^\s*(?:and|but|also|so|then|what else|anything else|why|how come|tell me more|more on|what about|how about)\b", re.IGNORECASE
)
_PERSON_PRONOUN = re.compile(r"\b(he|she|him)\b", re.IGNORECASE)
_VAGUE = re.compile(r"\b(he|she|him|her|his|they|them|their|it|its|this|that|these|those|there|the same)\b", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][\w’'-]*(?:\s+(?:of\s+|de\s+|al-)?[A-Z][\w’'-]*)*")
_QUESTION_START = frozenset((
    "what", "who", "whom", "whose", "which", "when", "where", "why", "how", "did", "does", "do", "is", "are",
    "was", "were", "can", "could", "will", "would", "should", "has", "have", "and", "but", "so", "also", "then", "tell",
))


@dataclass(frozen=True)
class Turn:
    """One message of a conversation."""

    role: str  # "user" or "assistant"
    content: str


class Rewriter(Protocol):
    """Turns the last message of a conversation into a standalone question."""

    def rewrite(self, message: str, history: Sequence[Turn]) -> str: ...


def as_turns(history: Iterable[Any] | None) -> list[Turn]:
    """Accept OpenAI-style messages ({"role", "content"}), Gradio pairs ([user, assistant]) or Turns."""
    turns: list[Turn] = []
    for item in history or ():
        if isinstance(item, Turn):
            turns.append(item)
        elif isinstance(item, Mapping):
            role, content = item.get("role"), item.get("content")
            if role not in ("user", "assistant", "system"):
                raise QueryError(f"a history message has role {role!r}; use 'user' or 'assistant'")
            if role != "system":
                turns.append(Turn(str(role), _content_text(content)))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            user, assistant = item
            if user:
                turns.append(Turn("user", _content_text(user)))
            if assistant:
                turns.append(Turn("assistant", _content_text(assistant)))
        else:
            raise QueryError("history must be a list of {'role': ..., 'content': ...} messages or [user, assistant] pairs")
    return turns


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    if isinstance(content, Mapping):  # a Gradio component value
        return str(content.get("text") or content.get("value") or "")
    return "" if content is None else str(content)


def names_in(text: str) -> list[str]:
    """Capitalised names in `text`, in order, without the first word of a sentence or question words."""
    found: list[str] = []
    for match in _NAME.finditer(_MARKERS.sub("", text)):
        words = match.group().split()
        while words and words[0].lower() in _QUESTION_START | tx.STOPWORDS:
            words = words[1:]
        name = " ".join(words)
        if name and name not in found and name.lower() not in tx.STOPWORDS:
            found.append(name)
    return found


def is_follow_up(message: str) -> bool:
    """Whether a message leans on the conversation (a "what about ...", a pronoun, or too few words)."""
    if _FOLLOW_UP_START.search(message) or _VAGUE.search(tx.strip_quotes(message)):
        return True
    return len(tx.key_terms(message)) < 2 and not names_in(message)


class HeuristicRewriter:
    """Rewrites follow-ups with the frame and names of the last *answered* exchange; no LLM needed.

    Words are never taken from a refusal or from the assistant's own boilerplate (the refusal's
    "Closest articles: ...", "A reader commented:", a source list): a follow-up after a refused
    question leans on the exchange before it, and a question that stands alone is left alone.
    """

    def rewrite(self, message: str, history: Sequence[Turn]) -> str:
        if not is_follow_up(message):
            return message
        answered = answered_exchanges(history)
        if not answered:
            return message
        previous, answer = answered[-1]
        return rewrite_with(message, previous, answer)


def rewrite_with(message: str, previous: str, answer: str) -> str:
    """`message` made standalone with the frame and names of the answered `previous` question and its answer."""
    topic = _WHAT_ABOUT.match(message)
    frame = _FRAME_ABOUT.match(previous)
    if topic and frame:
        return f"{frame.group('frame')}{topic.group('topic')}?"
    context = [n for n in names_in(previous) + names_in(answer[:300]) if n.lower() not in message.lower()]
    person = context[0] if context else None
    if person and _PERSON_PRONOUN.search(message):
        return _PERSON_PRONOUN.sub(person, message, count=1)
    if not context:
        context = [w for w in tx.words(previous) if w not in tx.STOPWORDS and w not in message.lower()][:4]
    if not context:
        return message
    return f"{message.rstrip(' ?.!')} (about {', '.join(dict.fromkeys(context[:4]))})?"


def is_refusal(text: str) -> bool:
    """Whether an assistant message is newsrag's refusal ("Not in the articles...")."""
    return text.lstrip().startswith(REFUSAL_PREFIX)


def answer_content(text: str) -> str:
    """An answer's quoted article text without markers and without newsrag's own words around it."""
    text = text.split("\n\nSources", 1)[0]
    text = _BOILERPLATE.sub(" ", _MARKERS.sub("", text))
    return " ".join(text.split())


def answered_exchanges(history: Sequence[Turn]) -> list[tuple[str, str]]:
    """(standalone question, answer content) for each exchange whose answer was not a refusal, oldest first.

    Each question is made standalone against the answered exchanges before it."""
    answered: list[tuple[str, str]] = []
    pending: str | None = None
    for turn in history:
        if turn.role == "user" and turn.content.strip():
            message = turn.content.strip()
            if is_follow_up(message) and answered:
                message = rewrite_with(message, *answered[-1])
            pending = message
        elif turn.role == "assistant" and pending is not None:
            if not is_refusal(turn.content):
                answered.append((pending, answer_content(turn.content)))
            pending = None
    return answered


class LLMRewriter:
    """Asks the LLM for the standalone question; falls back to the heuristic on an unusable reply."""

    def __init__(self, client: Any, fallback: Rewriter | None = None) -> None:
        self.client = client
        self.fallback = fallback or HeuristicRewriter()

    def rewrite(self, message: str, history: Sequence[Turn]) -> str:
        answered = answered_exchanges(history)
        if not answered or not is_follow_up(message):
            return message  # nothing answered to lean on, or the message stands alone
        lines = []
        for question, answer in answered[-3:]:  # refused exchanges and boilerplate never reach the prompt
            lines += [f"user: {question[:600]}", f"assistant: {answer[:600]}"]
        prompt = prompts.render("rewrite", history="\n".join(lines), message=message)
        try:
            reply = self.client.complete("", prompt, prompt)
        except BackendError:
            return self.fallback.rewrite(message, history)
        candidate = _first_line(reply)
        if not _usable(candidate, message, history):
            return self.fallback.rewrite(message, history)
        return candidate


def _usable(candidate: str, message: str, history: Sequence[Turn]) -> bool:
    """A rewrite keeps the message's own topic, cites nothing, and is about a question's length."""
    previous = next((t.content for t in reversed(history) if t.role == "user"), "")
    wanted = set(tx.key_terms(message))
    return (
        bool(candidate)
        and not _MARKERS.search(candidate)
        and len(candidate) <= len(message) + len(previous) + 80
        and (not wanted or bool(wanted & set(tx.terms(candidate))))
    )


def _first_line(reply: str) -> str:
    for line in reply.strip().splitlines():
        line = re.sub(r"^(standalone question|question)\s*:\s*", "", line.strip(), flags=re.IGNORECASE).strip(" \"'“”")
        if re.search(r"\w", line):
            return line
    return ""
