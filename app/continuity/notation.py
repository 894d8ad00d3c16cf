"""The writer's plain-text notation for facts, glossary terms and rank ladders (and its import from lore).

Lines, one item each (zh and en punctuation alike):
- fact: `林微 · 状态 · 死亡（第12章起）` / `Mara · status · dead (since chapter 12)`; `|` may stand for `·`;
- glossary: `曲率引擎 ≠ 曲速引擎、曲速驱动` / `warp engine != warp drive, warpdrive`;
- rank ladder: `境界：炼气 < 筑基 < 金丹` / `rank: Novice < Adept < Master` (lowest first).
A line that is none of these is ignored (lore prose); a line that starts as a fact but cannot be read
is reported as a problem code with the line, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .facts import Evidence, Fact, GlossaryTerm, RankScale, attribute_code, make_fact

FACT_SEPARATOR = re.compile(r"\s*[·•|｜]\s*")
SINCE = re.compile(
    r"[（(]\s*(?:since\s+(?:chapter|ch\.?)\s*|from\s+(?:chapter|ch\.?)\s*|ch\.?\s*|chapter\s*|自?第\s*)"
    r"(\d{1,6})\s*(?:章起|章以后|章后|章|)\s*[)）]\s*$", re.IGNORECASE)
GLOSSARY = re.compile(r"^(?P<canonical>[^≠]+?)\s*(?:≠|!=)\s*(?P<variants>.+)$")
LIST_SPLIT = re.compile(r"\s*[,，、;；/]\s*")
LADDER = re.compile(r"^(?P<attribute>[^:：<]+)[:：]\s*(?P<levels>[^<]+(?:<[^<]+)+)$")


@dataclass(frozen=True)
class NotationProblem:
    code: str  # "fact_parts" | "fact_chapter"
    line: str
    source_id: int | None


@dataclass(frozen=True)
class Imported:
    facts: tuple[Fact, ...] = ()
    glossary: tuple[GlossaryTerm, ...] = ()
    rank_scales: tuple[RankScale, ...] = ()
    problems: tuple[NotationProblem, ...] = ()


def parse_fact(line: str, evidence_source: str = "fact", source_id: int | None = None) -> Fact | NotationProblem:
    """One `subject · attribute · value (since chapter N)` line."""
    text = line.strip()
    since: int | None = None
    match = SINCE.search(text)
    if match:
        since = int(match.group(1))
        text = text[: match.start()].strip()
    parts = FACT_SEPARATOR.split(text)
    if len(parts) != 3 or not all(parts):
        return NotationProblem("fact_parts", line, source_id)
    if since is not None and since < 1:
        return NotationProblem("fact_chapter", line, source_id)
    subject, attribute, value = parts
    evidence = Evidence(evidence_source, source_id, f"{subject} · {attribute}", since)
    return make_fact(subject, attribute, value, since, evidence)


def parse_glossary(line: str, source: str = "glossary", source_id: int | None = None) -> GlossaryTerm | None:
    match = GLOSSARY.match(line.strip())
    if not match:
        return None
    canonical = match.group("canonical").strip()
    variants = tuple(v for v in LIST_SPLIT.split(match.group("variants").strip()) if v and v != canonical)
    if not canonical or not variants:
        return None
    return GlossaryTerm(canonical, variants, Evidence(source, source_id, canonical))


def parse_ladder(line: str, source: str = "rank_scale", source_id: int | None = None) -> RankScale | None:
    match = LADDER.match(line.strip())
    if not match or attribute_code(match.group("attribute")) != "rank":
        return None
    levels = tuple(level.strip() for level in match.group("levels").split("<") if level.strip())
    if len(levels) < 2:
        return None
    return RankScale(levels, Evidence(source, source_id, match.group("attribute").strip()))


def parse_lines(lines: Iterable[str], source: str, source_id: int | None) -> Imported:
    facts: list[Fact] = []
    glossary: list[GlossaryTerm] = []
    scales: list[RankScale] = []
    problems: list[NotationProblem] = []
    for line in lines:
        if not line.strip():
            continue
        ladder = parse_ladder(line, source, source_id)
        term = None if ladder else parse_glossary(line, source, source_id)
        if ladder:
            scales.append(ladder)
        elif term:
            glossary.append(term)
        elif FACT_SEPARATOR.search(line) and len(FACT_SEPARATOR.split(line.strip())) >= 3:
            parsed = parse_fact(line, source, source_id)
            (problems if isinstance(parsed, NotationProblem) else facts).append(parsed)  # type: ignore[arg-type]
    return Imported(tuple(facts), tuple(glossary), tuple(scales), tuple(problems))


def import_from_lore(entries: Iterable[object]) -> Imported:
    """Facts, glossary terms and ladders written in lore entries' content (one item a line)."""
    parts = [parse_lines(getattr(e, "content", "").splitlines(), "lore", getattr(e, "id", None))
             for e in entries if getattr(e, "enabled", True)]
    return Imported(tuple(f for p in parts for f in p.facts), tuple(g for p in parts for g in p.glossary),
                    tuple(s for p in parts for s in p.rank_scales), tuple(x for p in parts for x in p.problems))
