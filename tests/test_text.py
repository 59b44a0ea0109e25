"""Text primitives: question analysis used by the extractive answerer's refusal check, and sentence splitting."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from rag import text as tx


def test_name_phrases_skip_calendar_words_nationalities_and_titles() -> None:
    assert tx.name_phrases("What did Milley say about North Korea's missile tests?") == [["milley"], ["north", "korea"]]
    assert tx.name_phrases("Israel and Hamas agreed to a ceasefire on Wednesday?") == [["hama"]]
    assert tx.name_phrases("Which American chain will cut its menu?") == []
    assert tx.name_phrases("Mexican President Claudia Sheinbaum threatened to sue which company?") == [["claudia", "sheinbaum"]]


def test_a_phrase_is_present_by_its_last_word_or_most_of_it() -> None:
    terms = {"trump", "south", "korea", "asia"}
    assert tx.phrase_present(["donald", "trump"], terms)
    assert tx.phrase_present(["southeast", "asia"], terms)
    assert not tx.phrase_present(["north", "korea"], {"north", "kunar"})
    assert not tx.phrase_present(["milley"], terms)


def test_sentences_are_not_cut_after_a_title_a_number_sign_or_a_time_before_its_zone() -> None:
    text = ("The FDA banned Red No. 3 in food. The crash happened at 8:48 p.m. ET, according to the U.S. "
            "Geological Survey. Gov. Kay Ivey said. Sen. Jones spoke.\nNo.\nA new line always ends one.")
    assert [text[a:b] for a, b in tx.sentence_spans(text)] == [
        "The FDA banned Red No. 3 in food.",
        "The crash happened at 8:48 p.m. ET, according to the U.S. Geological Survey.",
        "Gov. Kay Ivey said.", "Sen. Jones spoke.", "No.", "A new line always ends one."]


def test_chunks_keep_punkt_sentences_so_a_store_build_does_not_change() -> None:
    text = "The FDA banned Red No. 3 in food. Gov. Kay Ivey said."
    assert [text[a:b] for a, b in tx.chunk_sentence_spans(text)] == [
        "The FDA banned Red No.", "3 in food.", "Gov.", "Kay Ivey said."]


_FRESH_PROCESS = """
import json, sys, threading
from pathlib import Path
from rag import text
articles = [p.read_text(encoding="utf-8") for p in sorted(Path("samples/articles").iterdir()) if p.is_file()]
ours = [text.chunk_sentence_spans(a) for a in articles]
loaded = sorted(m for m in sys.modules if m == "nltk" or m.startswith("nltk."))
import rag.punkt
rag.punkt._made.clear()  # punkt made again in a thread while this one imports nltk (as llama-index does)
maker = threading.Thread(target=rag.punkt.tokenizer)
maker.start()
import nltk  # the whole of it
maker.join()
from nltk.tokenize import PunktTokenizer
punkt = PunktTokenizer("english")
theirs = [[(p0 + s, p0 + e) for p0, p1 in text.paragraph_spans(a) for s, e in punkt.span_tokenize(a[p0:p1])
           if a[p0 + s:p0 + e].strip()] for a in articles]
print(json.dumps({"loaded": loaded, "same": ours == theirs, "spans": sum(map(len, ours)),
                  "whole_nltk": hasattr(nltk, "word_tokenize") and "nltk.corpus" in sys.modules}))
"""


def test_punkt_splits_as_nltk_does_without_importing_nltk_and_nltk_still_imports_whole_afterwards() -> None:
    spec = importlib.util.find_spec("llama_index.core")
    assert spec is not None and spec.origin
    tables = Path(spec.origin).parent / "_static" / "nltk_cache"  # llama-index's punkt tables, for nltk's own
    done = subprocess.run([sys.executable, "-c", _FRESH_PROCESS], cwd=Path(__file__).resolve().parents[1],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "NLTK_DATA": str(tables)},
                          check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []  # splitting sentences left no nltk module behind
    assert result["spans"] > 100 and result["same"]  # nltk's own PunktTokenizer gives the same sentences
    assert result["whole_nltk"]  # and a later `import nltk` is the real, whole package
