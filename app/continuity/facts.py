"""The story facts a passage is checked against: known names, glossary terms, stated facts, rank scales.

Owns the facts model (plain frozen dataclasses, no store, no engine) and its construction from the
writer's records (`story_facts`). Every fact carries its `Evidence`: where it was established (a
character sheet, a lore entry, the glossary, a stated fact) and from which chapter it holds.

Stated facts follow the issue's notation `subject · attribute · value (since chapter N)`. Attributes
are normalised to a few codes the checker understands (`status`, `rank`, `owner`, `location`); any
other attribute is kept verbatim and only the model layer looks at it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# attribute code -> the words writers use for it (zh and en, lower-cased); the first is the code.
ATTRIBUTE_WORDS: dict[str, tuple[str, ...]] = {
    "status": ("status", "状态", "生死", "存亡", "alive", "生存"),
    "rank": ("rank", "境界", "修为", "等级", "级别", "品阶", "军衔", "title", "level"),
    "owner": ("owner", "主人", "持有者", "所有者", "归属", "owned by", "held by", "wielder"),
    "location": ("location", "位置", "所在", "所在地", "居所", "place"),
}
# status value -> the words for it
STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "dead": ("dead", "死", "死亡", "已死", "身亡", "陨落", "阵亡", "deceased", "killed", "died"),
    "alive": ("alive", "活", "活着", "在世", "living"),
}


@dataclass(frozen=True)
class Evidence:
    """Where a fact comes from: `source` is character|alias|lore|glossary|fact|rank_scale."""

    source: str
    source_id: int | None
    label: str  # the sheet's name, the lore entry's title, the glossary term, "subject · attribute"
    chapter: int | None = None  # the chapter from which it holds (None: from the start)


@dataclass(frozen=True)
class KnownName:
    """A name the book knows (a character's name or alias, a lore key) and whose it is."""

    text: str
    canonical: str  # the character's (or lore entry's) main name
    evidence: Evidence


@dataclass(frozen=True)
class GlossaryTerm:
    canonical: str
    variants: tuple[str, ...]  # known wrong spellings
    evidence: Evidence
    case_sensitive: bool = False


@dataclass(frozen=True)
class Fact:
    subject: str
    attribute: str  # a code of ATTRIBUTE_WORDS, or the writer's own word
    value: str  # for status: "dead" | "alive"; otherwise the writer's value
    since_chapter: int | None
    evidence: Evidence

    def text(self) -> str:
        since = f" (since chapter {self.since_chapter})" if self.since_chapter is not None else ""
        return f"{self.subject} · {self.attribute} · {self.value}{since}"


@dataclass(frozen=True)
class RankScale:
    """An ordered ladder (lowest first) for one rank attribute, e.g. 炼气 < 筑基 < 金丹."""

    levels: tuple[str, ...]
    evidence: Evidence

    def level_of(self, value: str) -> int | None:
        for index, level in enumerate(self.levels):
            if level and (level == value or level in value):
                return index
        return None


@dataclass(frozen=True)
class StoryFacts:
    language: str  # "zh" | "en"
    names: tuple[KnownName, ...] = ()
    glossary: tuple[GlossaryTerm, ...] = ()
    facts: tuple[Fact, ...] = ()
    rank_scales: tuple[RankScale, ...] = ()
    # words that look like names but are not (place names, common words the writer whitelisted)
    allowed: frozenset[str] = field(default_factory=frozenset)

    def as_of(self, chapter: int | None) -> StoryFacts:
        """Only the facts established by `chapter` (None: all of them)."""
        if chapter is None:
            return self
        kept = tuple(f for f in self.facts if f.since_chapter is None or f.since_chapter <= chapter)
        return StoryFacts(self.language, self.names, self.glossary, kept, self.rank_scales, self.allowed)

    def names_of(self, canonical: str) -> tuple[str, ...]:
        """Every spelling (name and aliases) of the character or term called `canonical`."""
        spellings = [n.text for n in self.names if n.canonical == canonical]
        return tuple(dict.fromkeys([canonical, *spellings]))

    def canonical_of(self, text: str) -> str | None:
        for name in self.names:
            if name.text == text or (self.language == "en" and name.text.lower() == text.lower()):
                return name.canonical
        return None


def attribute_code(word: str) -> str:
    """The attribute code for a writer's word (`境界` → `rank`), or the word itself when unknown."""
    cleaned = word.strip().lower()
    for code, words in ATTRIBUTE_WORDS.items():
        if cleaned in words:
            return code
    return word.strip()


def status_code(value: str) -> str:
    cleaned = value.strip().lower()
    for code, words in STATUS_WORDS.items():
        if cleaned in words:
            return code
    return value.strip()


def make_fact(subject: str, attribute: str, value: str, since_chapter: int | None,
              evidence: Evidence) -> Fact:
    code = attribute_code(attribute)
    shown = status_code(value) if code == "status" else value.strip()
    return Fact(subject.strip(), code, shown, since_chapter, evidence)


def names_from_characters(characters: Iterable[Any]) -> list[KnownName]:
    """Names and aliases from character records (anything with id, name, aliases)."""
    found: list[KnownName] = []
    for character in characters:
        sheet = Evidence("character", character.id, character.name)
        found.append(KnownName(character.name, character.name, sheet))
        for alias in character.aliases:
            if alias.strip():
                found.append(KnownName(alias.strip(), character.name,
                                       Evidence("alias", character.id, character.name)))
    return found


def names_from_lore(entries: Iterable[Any]) -> list[KnownName]:
    """Plain (non-regex) keys of enabled lore entries: places, factions, items the book names."""
    found: list[KnownName] = []
    for entry in entries:
        if not entry.enabled:
            continue
        keys = [k.strip() for k in entry.keys if k.strip() and not k.strip().startswith("/")]
        label = entry.title or (keys[0] if keys else "")
        for key in keys:
            found.append(KnownName(key, keys[0], Evidence("lore", entry.id, label)))
    return found


def story_facts(language: str, *, characters: Sequence[Any] = (), lore_entries: Sequence[Any] = (),
                glossary: Sequence[GlossaryTerm] = (), facts: Sequence[Fact] = (),
                rank_scales: Sequence[RankScale] = (), allowed: Iterable[str] = ()) -> StoryFacts:
    """Put the writer's records together into one StoryFacts (characters first, then lore keys)."""
    names = [*names_from_characters(characters), *names_from_lore(lore_entries)]
    return StoryFacts(language, tuple(names), tuple(glossary), tuple(facts), tuple(rank_scales),
                      frozenset(allowed))
