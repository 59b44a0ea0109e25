"""The citing room: every [n] of an answer must point at a passage that supports its sentence.

`citations.CitationVerifier` checks and repairs the markers of any answerer's text; `support` scores
how well a passage supports a claim (shared terms, exact numbers, embedding similarity). It may use the
answering room's injection checks and the shared modules, never the assistant.
"""
