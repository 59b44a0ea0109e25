"""String matching shared by every metric: answer normalisation, exact match, token F1 and "contains".

"Contains" is one definition everywhere (answer text, passages, articles): case-insensitive, curly
and straight quotes equal, any dash equal, any run of whitespace equal, and a needle that starts or
ends with a letter or digit must start or end on a word boundary ("10" is not found in "100"). The
quotes around an answer string and an article before it are not needed (`needle_core`).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

_MARKER = re.compile(r"\s*\[\d{1,3}(?:\s*,\s*\d{1,3})*\]")
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation) | set("“”‘’–—…«»")
_QUOTES = {"'": "['‘’`]", "‘": "['‘’`]", "’": "['‘’`]", '"': "[\"“”]", "“": "[\"“”]", "”": "[\"“”]",
           "-": "[-‐‑–—]", "–": "[-‐‑–—]", "—": "[-‐‑–—]"}
Span = tuple[int, int]


def strip_markers(text: str) -> str:
    """Answer text without its [n] citation markers."""
    return _MARKER.sub("", text)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles (a/an/the), single spaces."""
    text = strip_markers(text).lower()
    text = "".join(" " if ch in _PUNCT else ch for ch in text)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, golds: Iterable[str]) -> float:
    """1.0 when the normalised prediction equals a normalised gold answer."""
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds))


def token_f1(prediction: str, golds: Iterable[str]) -> float:
    """The best SQuAD token F1 of the prediction against any gold answer."""
    pred = normalize_answer(prediction).split()
    best = 0.0
    for gold in golds:
        ref = normalize_answer(gold).split()
        common = sum((Counter(pred) & Counter(ref)).values())
        if not pred or not ref or not common:
            continue
        precision, recall = common / len(pred), common / len(ref)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


_EDGE_QUOTES = "\"'“”‘’"
_LEADING_ARTICLE = re.compile(r"^(?:the|a|an)\s+(?=\S)", re.IGNORECASE)


def needle_core(needle: str) -> str:
    """What of an answer string must occur: without the quotes around it and a leading article, as SQuAD's
    normalisation drops them ("“Anora”" -> "Anora"; "The assassination of President John F. Kennedy" is in
    "the 1963 assassination of President John F. Kennedy")."""
    core = " ".join(needle.split()).strip(_EDGE_QUOTES).strip()
    stripped = _LEADING_ARTICLE.sub("", core)
    return stripped if any(ch.isalnum() for ch in stripped) else core


@lru_cache(maxsize=4096)
def needle_pattern(needle: str) -> re.Pattern[str] | None:
    """The tolerant regex for a needle (None for a needle with nothing to match)."""
    needle = needle_core(needle)
    if not any(ch.isalnum() for ch in needle):
        return None
    parts = []
    for ch in needle:
        if ch == " ":
            parts.append(r"\s+")
        else:
            parts.append(_QUOTES.get(ch, re.escape(ch)))
    body = "".join(parts)
    if needle[0].isalnum():
        body = r"(?<![^\W_])" + body
    if needle[-1].isalnum():
        body = body + r"(?![^\W_])"
    return re.compile(body, re.IGNORECASE)


def find_spans(needle: str, text: str) -> list[Span]:
    """Every place `needle` occurs in `text` under the tolerant match."""
    pattern = needle_pattern(needle)
    return [] if pattern is None else [m.span() for m in pattern.finditer(text)]


def contains(text: str, needles: Iterable[str]) -> bool:
    """True when any needle occurs in `text` under the tolerant match."""
    for needle in needles:
        pattern = needle_pattern(needle)
        if pattern is not None and pattern.search(text):
            return True
    return False


def needle_words(needle: str) -> set[str]:
    """Lower-case word tokens of a needle, for a fast pre-filter before the regex."""
    return set(re.findall(r"[^\W_]+", needle_core(needle).lower()))


_TITLE_WORDS = frozenset(["president", "prime", "minister", "sen", "senator", "rep", "gov", "governor", "secretary", "chief", "justice", "former", "us", "u", "s", "mr", "mrs", "ms", "dr", "king", "queen", "pope", "general", "ceo", "of", "and"])


def short_answer_matches(short: str, golds: Iterable[str]) -> bool:
    """A short answer names a right answer when either contains the other (the tolerant *contains*) and
    the short answer holds a word that is more than a title or a function word ("Zelensky" names
    "Ukrainian President Volodymyr Zelensky"; "President" does not)."""
    words = normalize_answer(short).split()
    if not any(w not in _TITLE_WORDS for w in words):
        return False
    return any(contains(short, [gold]) or contains(gold, [short]) for gold in golds if gold.strip())
