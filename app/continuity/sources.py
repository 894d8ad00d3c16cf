"""From the writer's stored records to StoryFacts, and the "as of chapter N" filters for role-play.

Records are duck-typed (the store's CharacterRecord, LoreEntryRecord, GlossaryTermRecord,
StoryFactRecord, ChapterRecord, SearchHit): this leaf never imports the store. A stored fact whose
attribute is "rank_scale" (in Chinese 等级阶梯 or 境界阶梯) holds a ladder `a < b < c` (its subject names the
rank attribute).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from .facts import Evidence, Fact, GlossaryTerm, RankScale, StoryFacts, make_fact, story_facts
from .notation import FACT_SEPARATOR, import_from_lore, parse_fact, parse_ladder

T = TypeVar("T")
RANK_SCALE = "rank_scale"
RANK_SCALE_NAMES = frozenset({RANK_SCALE, "等级阶梯", "境界阶梯"})  # what the writer may type as the attribute


def glossary_from_records(terms: Sequence[Any]) -> list[GlossaryTerm]:
    return [GlossaryTerm(t.canonical, tuple(t.variants), Evidence("glossary", t.id, t.canonical), t.case_sensitive)
            for t in terms if t.variants]


def facts_from_records(records: Sequence[Any]) -> tuple[list[Fact], list[RankScale]]:
    facts: list[Fact] = []
    scales: list[RankScale] = []
    for r in records:
        if r.attribute.strip() in RANK_SCALE_NAMES:
            scale = parse_ladder(f"rank: {r.value}", "fact", r.id)
            if scale is not None:
                scales.append(scale)
            continue
        evidence = Evidence("fact", r.id, f"{r.subject} · {r.attribute}", r.since_chapter)
        facts.append(make_fact(r.subject, r.attribute, r.value, r.since_chapter, evidence))
    return facts, scales


def facts_for_project(language: str, *, characters: Sequence[Any], lore_entries: Sequence[Any],
                      glossary: Sequence[Any] = (), facts: Sequence[Any] = (),
                      allowed: Sequence[str] = ()) -> StoryFacts:
    """Everything the writer keeps: sheets, lore keys, lore fact lines, the glossary and stated facts."""
    from_lore = import_from_lore(lore_entries)
    stated, scales = facts_from_records(facts)
    return story_facts(language, characters=characters, lore_entries=lore_entries,
                       glossary=[*glossary_from_records(glossary), *from_lore.glossary],
                       facts=[*stated, *from_lore.facts], rank_scales=[*scales, *from_lore.rank_scales],
                       allowed=allowed)


def chapters_as_of(chapters: Sequence[T], cutoff: int | None) -> list[T]:
    """Chapters with ordinal ≤ cutoff (all of them when cutoff is None)."""
    return [c for c in chapters if cutoff is None or getattr(c, "ordinal") <= cutoff]


def lore_as_of(entries: Sequence[T], reveals: Mapping[int, int], cutoff: int | None) -> list[T]:
    """Lore entries not revealed after the cutoff (an entry revealed at chapter R is known from R on)."""
    return [e for e in entries if cutoff is None or reveals.get(getattr(e, "id"), 0) <= cutoff]


def facts_records_as_of(records: Sequence[T], cutoff: int | None) -> list[T]:
    return [r for r in records if cutoff is None or (getattr(r, "since_chapter") or 0) <= cutoff]


def lore_known_by(entries: Sequence[T], reveals: Mapping[int, int], cutoff: int | None) -> list[T]:
    """Lore as the story knows it at `cutoff`: entries revealed later are left out, and fact lines
    (`subject · attribute · value (since chapter M)`) with M > cutoff are cut from the others' content."""
    if cutoff is None:
        return list(entries)
    known = []
    for entry in lore_as_of(entries, reveals, cutoff):
        content = getattr(entry, "content")
        lines = [line for line in content.splitlines() if not _later_fact(line, cutoff)]
        kept = "\n".join(lines)
        known.append(entry if kept == content else dataclasses.replace(entry, content=kept))  # type: ignore[type-var]
    return known


def _later_fact(line: str, cutoff: int) -> bool:
    parsed = parse_fact(line) if FACT_SEPARATOR.search(line) else None
    return isinstance(parsed, Fact) and parsed.since_chapter is not None and parsed.since_chapter > cutoff
