"""The deterministic layer: every rule-based check over one passage, findings in passage order."""

from __future__ import annotations

from .facts import StoryFacts
from .findings import Finding, dedupe
from .glossary import glossary_variants
from .names import near_miss_names
from .statements import contradicted_facts

MAX_PASSAGE_CHARS = 2_000_000


def check_passage(passage: str, facts: StoryFacts, chapter: int | None = None) -> list[Finding]:
    """All rule findings for `passage` set in `chapter` (None: later than every fact)."""
    if len(passage) > MAX_PASSAGE_CHARS:
        raise ValueError(f"passage_too_long:{len(passage)}")
    facts = facts.as_of(None)
    findings = [*near_miss_names(passage, facts), *glossary_variants(passage, facts),
                *contradicted_facts(passage, facts, chapter)]
    return dedupe(findings)
