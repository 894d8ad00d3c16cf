"""Glossary variants: a known wrong spelling of a canonical term (曲速引擎 where the book says 曲率引擎).

An occurrence inside an occurrence of the canonical term (or of another known name) is not flagged.
English matches whole words, case-insensitive unless the term says otherwise.
"""

from __future__ import annotations

from .facts import StoryFacts
from .findings import GLOSSARY_VARIANT, Finding, Span
from .text import occurrences


def glossary_variants(passage: str, facts: StoryFacts) -> list[Finding]:
    whole_words = facts.language == "en"
    found: list[Finding] = []
    protected = [t.canonical for t in facts.glossary] + [n.text for n in facts.names]
    safe = _spans(passage, protected, whole_words)
    for term in facts.glossary:
        for variant in term.variants:
            for start in occurrences(passage, variant, term.case_sensitive, whole_words):
                end = start + len(variant)
                if any(s <= start and end <= e and (e - s) > (end - start) for s, e in safe):
                    continue
                quote = passage[start:end]
                found.append(Finding(GLOSSARY_VARIANT, "low", Span(start, end, quote), term.canonical,
                                     term.evidence, {"found": quote, "expected": term.canonical}))
    return found


def _spans(passage: str, texts: list[str], whole_words: bool) -> list[tuple[int, int]]:
    return [(s, s + len(t)) for t in texts if t for s in occurrences(passage, t, False, whole_words)]
