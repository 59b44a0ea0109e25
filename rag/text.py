"""Text primitives shared by ingest and answering: sentence spans, word terms, key terms of a question."""

from __future__ import annotations

import importlib.util
import re
import sys
import unicodedata
from collections.abc import Iterator, Sequence, Set
from functools import lru_cache
from pathlib import Path

Span = tuple[int, int]

_WORD = re.compile(r"\d+(?:[.,:/]\d+)*%?|[^\W\d_](?:[\w'’]*[^\W_])?", re.UNICODE)
_PARAGRAPH = re.compile(r"[^\n]+")
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")

# Words that carry no topic: function words plus the frame words of questions ("what did X say about").
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing done down during each either few for
    from further had has have having he her here hers herself him himself his how however i if in into
    is it its itself just let me might more most must my myself no nor not now of off on once only or
    other our ours ourselves out over own same shall she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up upon us very via
    was we were what when where which while who whom whose why will with within without would you your
    yours yourself yourselves s t ll re ve d m don didn doesn isn wasn weren aren hasn haven won
    say says said tell told describe according article articles report reported mention mentioned
    know known happen happened happens one ones many much kind type sort thing things way
    give given name named call called people person something anything""".split()
)

_QUESTION_WORDS = frozenset("what who whom whose which when where why how".split())


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def _import_nltk():  # type: ignore[no-untyped-def]
    """`import nltk` without the scipy.stats and scikit-learn imports its __init__ makes eagerly (1 s of
    a cold `newsrag ask`; punkt needs neither). nltk imports both inside try/except ImportError, so they
    are hidden for that one import only, and only when not loaded yet: importing them later works as
    usual; just nltk's Fisher-exact collocation score and its scikit-learn classifier wrapper are off."""
    hidden = [name for name in ("scipy.stats", "sklearn") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import nltk
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    return nltk


@lru_cache(maxsize=1)
def _punkt():  # type: ignore[no-untyped-def]
    nltk = _import_nltk()
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    spec = importlib.util.find_spec("llama_index.core")
    if spec and spec.origin:  # llama-index ships the punkt tables, so nothing is downloaded
        cache = Path(spec.origin).parent / "_static" / "nltk_cache"
        if str(cache) not in nltk.data.path:
            nltk.data.path.append(str(cache))
    try:
        from nltk.tokenize import PunktTokenizer

        return PunktTokenizer("english")
    except (LookupError, ImportError):  # no tables at all: untrained punkt still splits on . ! ?
        return PunktSentenceTokenizer()


def normalize(text: str) -> str:
    """NFC, unify line ends, drop control characters, strip trailing spaces; typography is kept."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    text = text.replace("\t", " ").replace("\u00a0", " ")
    lines = [re.sub(r" {2,}", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def paragraph_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Non-empty lines of `text[start:end]` as absolute spans."""
    end = len(text) if end is None else end
    return [(start + m.start(), start + m.end()) for m in _PARAGRAPH.finditer(text[start:end]) if m.group().strip()]


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences of `text[start:end]` as absolute spans; a line break always ends a sentence.

    Punkt's splits after a title or a number sign ("Gov. | Kay Ivey", "Red No. | 3") and after a time
    followed by its zone ("8:48 p.m. | ET, according to") are joined again: news writes these all the time,
    and half a sentence neither answers nor cites. Recent results are remembered: one answer splits the same
    passages in several stages (the selector's candidates, the citation check, the windows)."""
    return list(_joined_spans(text, start, end))


def chunk_sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Punkt's sentences, as chunks are cut from them: chunk boundaries are part of a store's build
    (`rag.store.build.CHUNKER_VERSION`), so they change only with it."""
    return list(_sentence_spans(text, start, end))


# Titles written abbreviated before a name ("Gov. Kay Ivey"); their full stop ends no sentence.
TITLE_ABBREVIATIONS = ("Gov", "Sen", "Sens", "Rep", "Reps", "Gen", "Lt", "Col", "Capt", "Sgt", "Adm", "Cmdr", "Maj",
                       "Supt", "Insp", "Det", "Prof", "Rev", "Hon", "Pres", "Atty", "Dr", "Mr", "Mrs", "Ms")
_NOT_AN_END = re.compile(r"(?:\b(?:" + "|".join((*TITLE_ABBREVIATIONS, "No", "Nos", "St", "Ste", "Mt", "Ft", "vs", "Vol",
                                                 "Fig", "approx", "est")) + r")\.)$")
_ZONE_AFTER_TIME = re.compile(r"\b[ap]\.m\.$")
_ZONE = re.compile(r"^(?:ET|EST|EDT|CT|CST|CDT|MT|MST|MDT|PT|PST|PDT|GMT|BST|UTC|CET|local time)\b|^[a-z(,;]")


@lru_cache(maxsize=2048)
def _joined_spans(text: str, start: int, end: int | None) -> tuple[Span, ...]:
    joined: list[Span] = []
    for span in _sentence_spans(text, start, end):
        if joined and "\n" not in text[joined[-1][1]:span[0]]:  # never across a line break
            before, after = text[joined[-1][0]:joined[-1][1]], text[span[0]:span[1]]
            if _NOT_AN_END.search(before) or (_ZONE_AFTER_TIME.search(before) and _ZONE.match(after)):
                joined[-1] = (joined[-1][0], span[1])
                continue
        joined.append(span)
    return tuple(joined)


@lru_cache(maxsize=2048)
def _sentence_spans(text: str, start: int, end: int | None) -> tuple[Span, ...]:
    spans: list[Span] = []
    tokenizer = _punkt()
    for p_start, p_end in paragraph_spans(text, start, end):
        paragraph = text[p_start:p_end]
        for s, e in tokenizer.span_tokenize(paragraph):
            if paragraph[s:e].strip():
                spans.append((p_start + s, p_start + e))
    return tuple(spans)


def words(text: str) -> list[str]:
    """Lower-cased word tokens; hyphenated words are split, numbers kept whole (7,423)."""
    text = text.replace("’", "'").replace("-", " ")
    # ASCII text lower-cased first matches the same words (one call instead of one per word)
    tokens = _WORD.findall(text.lower()) if text.isascii() else [t.lower() for t in _WORD.findall(text)]
    if "'" not in text:
        return tokens  # every match is a non-empty word already
    return [token for token in map(_unquoted, tokens) if token]


def _unquoted(token: str) -> str:
    """A word without its possessive 's and without apostrophes around it."""
    if "'" not in token:
        return token
    if token.endswith("'s"):
        token = token[:-2]
    return token.strip("'")


def stem(token: str) -> str:
    return str(_stemmer().stemWord(token))


def terms(text: str) -> list[str]:
    """Stemmed content words of `text`, in order (stop words removed). Recent texts are remembered: one answer
    tokenises the same chunks and sentences in several stages, and answers share chunks."""
    return list(_terms(text))


@lru_cache(maxsize=8192)
def _terms(text: str) -> tuple[str, ...]:
    kept = [w for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    return tuple(_stemmer().stemWords(kept)) if kept else ()


def key_terms(question: str) -> dict[str, float]:
    """Stemmed content terms of a question with weights: names and numbers count double."""
    weights: dict[str, float] = {}
    for is_name, word in _words_with_case(question):
        if word in STOPWORDS or word in _QUESTION_WORDS or (len(word) < 2 and not word.isdigit()):
            continue
        term = stem(word)
        weight = 2.0 if (is_name or word[0].isdigit()) else 1.0
        weights[term] = max(weights.get(term, 0.0), weight)
    return weights


# Capitalised words that name no one in particular: calendar words, nationalities, titles.
_NOT_NAMES = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december american americans british chinese european french
    german indian iranian israeli italian japanese korean mexican palestinian russian spanish turkish
    ukrainian african arab asian canadian australian brazilian cuban egyptian syrian afghan pakistani
    president presidents gov governor sen senator rep secretary prime minister king queen pope
    general gen chairman chief ceo mr mrs ms dr""".split()
)


def names(question: str) -> list[str]:
    """Stemmed capitalised words of a question (not its first word), e.g. the people it asks about."""
    return [stem(w) for phrase in name_phrases(question) for w in phrase]


def name_phrases(question: str) -> list[list[str]]:
    """Runs of capitalised words after the first word ("Donald Trump", "North Korea"), as stemmed
    words; calendar words, nationalities and titles are left out."""
    phrases: list[list[str]] = []
    current: list[str] = []
    for is_name, word in _words_with_case(question):
        if is_name and word not in STOPWORDS and word not in _NOT_NAMES and (len(word) > 1 or word.isdigit()):
            current.append(stem(word))
        elif current:
            phrases.append(current)
            current = []
    if current:
        phrases.append(current)
    return phrases


def phrase_present(phrase: Sequence[str], terms: Set[str]) -> bool:
    """A name phrase is present when its last word is ("Trump" for "Donald Trump") or most of it is."""
    return phrase[-1] in terms or sum(w in terms for w in phrase) * 2 > len(phrase)


def _words_with_case(text: str) -> Iterator[tuple[bool, str]]:
    text = text.replace("’", "'").replace("-", " ")
    for i, match in enumerate(_WORD.finditer(text)):
        raw = match.group()
        token = raw.lower()
        if token.endswith("'s"):
            token = token[:-2]
        token = token.strip("'")
        if token:
            yield (i > 0 and raw[0].isupper()), token


def strip_quotes(text: str) -> str:
    """Text with quoted passages removed (first-person words inside quotes belong to the quoted)."""
    return _QUOTED.sub(" ", text)
