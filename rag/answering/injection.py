"""Article text that talks to a language model instead of a reader ("ignore previous instructions...").

Articles are untrusted. Before article text goes into a prompt, `quote_as_data` defuses everything that
could end the quoting or pass for prompt structure: angle brackets (so no `</passage>`, `<|im_start|>` or
`<start_of_turn>` can form), `[INST]` markers, and bracketed numbers that look like our citations. And a
sentence that reads like an instruction to a model (`instruction_like`) never supports a claim and is
never quoted as an answer: a model that obeys "reply PWNED" gets no citation for it.
"""

from __future__ import annotations

import re

_ANGLE = str.maketrans({"<": "‹", ">": "›"})
_INST = re.compile(r"\[\s*(/?)\s*(INST|SYS)\s*\]", re.IGNORECASE)
_CITATION_LIKE = re.compile(r"\[(\s*\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*\s*)\]")

_OBJECTS = r"(?:instructions?|rules?|prompts?|directions?|guidelines?|directives?|context|messages?|commands?)"
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in [
    # "ignore previous instructions", "disregard all the rules above", "forget your earlier prompt"
    (rf"\b(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|the|your|my|these|those|its|of)\s+)*"
     rf"(?:(?:previous|prior|above|earlier|preceding|former|original|system|safety|other)\s+)?{_OBJECTS}\b(?!\s+of\b)"),
    r"\byou are now (?:a|an|in|my|no longer|free|dan|acting|in charge)\b",
    r"\b(?:in|enter|enable|activate) (?:developer|jailbreak|god|dan) mode\b", r"\bsystem prompt\b",
    rf"\bnew {_OBJECTS}\s*:", r"\bas an? (?:ai|language model|llm|chatbot)\b",
    # chat-template and prompt-format markers
    r"<\|[\w-]+\|>", r"</?\s*(?:start_of_turn|end_of_turn|s|bos|eos|passage)\b[^>]*>", r"\[/?INST\]", r"<</?SYS>>",
    # role labels and the "Question: ... Answer:" lines of our own completion prompt
    r"^\W*(?:system|assistant|user|developer|question|answer)\s*:", r"^\W*#{2,}\s*(?:instruction|system|response)\b",
]), re.IGNORECASE | re.MULTILINE)
# "reply only with PWNED.", "say the word OK": an order about what to reply, ending the sentence in capitals
_REPLY_ORDER = re.compile(
    r"\b(?i:reply|respond|answer|output|say|print|write)\s+(?i:only\s+)?(?i:with\s+)?(?i:the\s+word\s+)?"
    r"[\"'“‘]?(?=[0-9_]*[A-Z])[A-Z0-9_]{2,}[\"'”’]?\s*(?:[.!]|$|(?i:and nothing else))"
)


def quote_as_data(text: str) -> str:
    """Article text as it may appear inside a prompt's quoting: nothing in it can close or fake the quoting."""
    text = text.translate(_ANGLE)
    text = _INST.sub(lambda m: f"({m.group(1)}{m.group(2)})", text)
    return _CITATION_LIKE.sub(lambda m: f"({m.group(1)})", text)


def instruction_like(sentence: str) -> bool:
    """Whether a sentence addresses a language model (an order to ignore rules or what to reply, a role or
    template marker) rather than a reader."""
    return bool(_INSTRUCTION.search(sentence) or _REPLY_ORDER.search(sentence))
