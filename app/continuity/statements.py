"""Facts contradicted by explicit statements in a passage set after the fact was established.

- status dead since N: the character speaks or acts (name + an act verb in the same clause) in a
  passage of a chapter after N, unless the sentence recalls the past (想起/记得/remembered/...);
- rank V since N: the passage states the character at a lower level of the ladder that holds V
  (name ... copula/marker ... lower level, in one clause, no other name in between);
- owner O of item I since N: another known character holds or owns I (X的I / X's I / X drew the I).
A passage with no chapter is treated as later than every fact. Word lists are data per language.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .facts import Fact, RankScale, StoryFacts
from .findings import DEAD_CHARACTER_ACTS, OWNER_MISMATCH, RANK_REGRESSION, Finding, Span
from .text import CLAUSE_END, occurrences, sentence_bounds


@dataclass(frozen=True)
class Lexicon:
    acts: tuple[str, ...]  # verbs that need the subject alive
    recall: tuple[str, ...]  # markers of memory, dreams, the past: the sentence is not a live act
    rank_markers: tuple[str, ...]  # between a name and a level: "is/was/only/still/修为/是"
    holding: tuple[str, ...]  # between a name and an item: "的/手中/'s/drew"
    possessive: tuple[str, ...]  # a possessive between name and verb: the verb is someone else's
    act_gap: int  # max characters between the name and the act verb
    rank_gap: int
    hold_gap: int  # max characters between a holder's name and the item


ZH = Lexicon(
    acts=("说", "道", "问", "答", "喊", "叫", "笑", "点头", "摇头", "走", "站", "坐", "拔", "抬", "开口", "转身",
          "看着", "望着", "伸手", "推开", "冷哼", "叹"),
    recall=("想起", "回忆", "记得", "曾经", "曾", "生前", "当年", "梦见", "梦中", "遗言", "灵位", "墓", "尸", "那时",
            "以前", "往昔", "幻影"),
    rank_markers=("是", "为", "乃", "仍", "还", "只", "仅", "停留", "修为", "境界", "达到", "不过", "跌", "退回"),
    holding=("的", "手中", "手里", "握", "持", "拔", "拿", "提", "祭出", "佩", "背", "举", "挥", "接过"),
    possessive=("的",), act_gap=4, rank_gap=10, hold_gap=6,
)
EN = Lexicon(
    acts=("said", "says", "asked", "replied", "shouted", "whispered", "smiled", "nodded", "laughed", "walked",
          "stood", "turned", "spoke", "answered", "grinned", "entered", "sighed", "called"),
    recall=("remembered", "recalled", "remember", "memory", "memories", "dream", "dreamed", "dreamt", "ghost",
            "grave", "corpse", "funeral", "the late", "used to", "had said", "once said", "long ago", "back then"),
    rank_markers=(" was ", " is ", " remained ", " still ", " only ", " just ", " reached ", " rank ", " stayed "),
    holding=("'s ", "’s ", " drew ", " wielded ", " held ", " raised ", " gripped ", " carried ", " swung ",
             " unsheathed ", " holding ", " wielding "),
    possessive=("'s", "’s"), act_gap=24, rank_gap=40, hold_gap=30,
)


def _lexicon(facts: StoryFacts) -> Lexicon:
    return ZH if facts.language == "zh" else EN


def _applies(fact: Fact, chapter: int | None) -> bool:
    return chapter is None or fact.since_chapter is None or chapter > fact.since_chapter


def _mentions(passage: str, facts: StoryFacts, subject: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every spelling of `subject` (its name and aliases), longest spellings first."""
    whole = facts.language == "en"
    taken: list[tuple[int, int]] = []
    for spelling in sorted(facts.names_of(subject), key=len, reverse=True):
        for start in occurrences(passage, spelling, not whole, whole):
            span = (start, start + len(spelling))
            if not any(s <= span[0] < e for s, e in taken):
                taken.append(span)
    return iter(sorted(taken))


def _clause_after(passage: str, end: int, limit: int) -> str:
    stop = end
    while stop < len(passage) and stop - end < limit and passage[stop] not in CLAUSE_END:
        stop += 1
    return passage[end:stop]


def _recalls(passage: str, offset: int, lexicon: Lexicon) -> bool:
    start, end = sentence_bounds(passage, offset)
    sentence = passage[start:end].lower()
    return any(marker in sentence for marker in lexicon.recall)


def _finding(kind: str, fact: Fact, passage: str, start: int, end: int, **values: object) -> Finding:
    quote = passage[start:end]
    return Finding(kind, "high", Span(start, end, quote), fact.text(), fact.evidence,
                   {"subject": fact.subject, "attribute": fact.attribute, "expected": fact.value,
                    "since": fact.since_chapter or 0, **values})


def dead_acts(passage: str, fact: Fact, facts: StoryFacts) -> Iterator[Finding]:
    lexicon = _lexicon(facts)
    for start, end in _mentions(passage, facts, fact.subject):
        clause = _clause_after(passage, end, lexicon.act_gap + 8)
        lowered = clause.lower()
        hits = [lowered.find(act) for act in lexicon.acts if 0 <= lowered.find(act) <= lexicon.act_gap]
        gap = clause[:min(hits)] if hits else ""
        if any(p in gap for p in lexicon.possessive) or any(n.text in gap for n in facts.names):
            continue
        if hits and not _recalls(passage, start, lexicon):
            verb_end = end + min(hits) + 1
            stop = _word_end(passage, verb_end) if facts.language == "en" else verb_end
            yield _finding(DEAD_CHARACTER_ACTS, fact, passage, start, stop, found=passage[start:stop])


def _word_end(passage: str, offset: int) -> int:
    while offset < len(passage) and passage[offset].isalpha():
        offset += 1
    return offset


def rank_regressions(passage: str, fact: Fact, facts: StoryFacts, scale: RankScale) -> Iterator[Finding]:
    lexicon = _lexicon(facts)
    established = scale.level_of(fact.value)
    if established is None:
        return
    others = [n.text for n in facts.names if n.canonical != facts.canonical_of(fact.subject)]
    for start, end in _mentions(passage, facts, fact.subject):
        clause = _clause_after(passage, end, lexicon.rank_gap + 12)
        for index, level in enumerate(scale.levels[:established]):
            at = _find(clause, level, facts.language == "en")
            gap = f" {clause[:at]} " if at >= 0 else ""
            if at < 0 or at > lexicon.rank_gap or not any(m in gap.lower() for m in lexicon.rank_markers):
                continue
            if any(o in gap for o in others) or _recalls(passage, start, lexicon):
                continue
            stop = end + at + len(level)
            yield _finding(RANK_REGRESSION, fact, passage, start, stop, found=level, found_level=index,
                           expected_level=established)
            break


def _find(text: str, needle: str, case_insensitive: bool) -> int:
    if case_insensitive:
        match = re.search(rf"\b{re.escape(needle.lower())}\b", text.lower())
        return match.start() if match else -1
    return text.find(needle)


def owner_mismatches(passage: str, fact: Fact, facts: StoryFacts) -> Iterator[Finding]:
    lexicon = _lexicon(facts)
    owner = facts.canonical_of(fact.value) or fact.value
    holders = [n for n in facts.names if n.evidence.source in ("character", "alias") and n.canonical != owner]
    for item_start, item_end in _mentions(passage, facts, fact.subject):
        clause_start = item_start
        while clause_start > 0 and passage[clause_start - 1] not in CLAUSE_END and item_start - clause_start < 24:
            clause_start -= 1
        before = passage[clause_start:item_start]
        for holder in holders:
            at = before.rfind(holder.text)
            gap = f" {before[at + len(holder.text):]}" if at >= 0 else ""
            if at < 0 or len(gap) > lexicon.hold_gap + 1 or not any(m in gap.lower() or m.strip() == gap.strip().lower() for m in lexicon.holding):
                continue
            if any(n.text in gap for n in facts.names):
                continue  # someone else is named between the holder and the item (a hand-over)
            start = clause_start + at
            yield _finding(OWNER_MISMATCH, fact, passage, start, item_end, found=holder.canonical)
            break


def contradicted_facts(passage: str, facts: StoryFacts, chapter: int | None) -> list[Finding]:
    found: list[Finding] = []
    for fact in facts.facts:
        if not _applies(fact, chapter):
            continue
        if fact.attribute == "status" and fact.value == "dead":
            found.extend(dead_acts(passage, fact, facts))
        elif fact.attribute == "owner":
            found.extend(owner_mismatches(passage, fact, facts))
        elif fact.attribute == "rank":
            for scale in facts.rank_scales:
                if scale.level_of(fact.value) is not None:
                    found.extend(rank_regressions(passage, fact, facts, scale))
                    break
    return found
