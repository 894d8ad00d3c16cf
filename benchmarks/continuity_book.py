"""The synthetic book of continuity_bench.py: facts, planted contradictions and clean passages.

Filler is real public-domain prose (红楼梦, Pride and Prejudice from shared/corpus); each passage gets
one inserted sentence from the templates below: a planted contradiction of a known kind, or a hard
negative (a correct name, a dead character remembered, a rank at or above the fact, an owner holding
their own item, the canonical term, a new character). Ground truth: (kind, inserted span) or clean.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from app.continuity import StoryFacts, parse_lines, story_facts


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    aliases: list[str]


@dataclass(frozen=True)
class Entry:
    id: int
    title: str
    keys: list[str]
    content: str
    enabled: bool = True


@dataclass(frozen=True)
class Case:
    passage: str
    chapter: int
    kind: str | None  # None: clean
    span: tuple[int, int]  # the inserted sentence


@dataclass(frozen=True)
class Book:
    language: str
    facts: StoryFacts
    near_misses: dict[str, list[str]]  # name -> misspellings to plant
    dead: list[tuple[str, int]]
    ranks: list[tuple[str, int]]  # (name, index of the established level)
    ladder: list[str]
    items: list[tuple[str, str]]  # (item, owner)
    terms: list[tuple[str, str]]  # (canonical, wrong variant)
    new_names: list[str]
    planted: dict[str, list[str]]  # kind -> sentence templates
    gaps: list[str]  # contradictions outside the rules' reach (the known gaps)
    clean: list[str]  # hard-negative templates


ZH: dict[str, Any] = dict(
    people=[("林微", ["阿微"]), ("萧长风", ["长风"]), ("苏婉", []), ("顾清寒", []), ("沈墨白", ["墨白"]), ("陆遥", [])],
    near_misses={"林微": ["林薇", "林威"], "萧长风": ["萧长峰", "肖长风"], "苏婉": ["苏琬", "苏宛"], "顾清寒": ["顾青寒"],
                 "沈墨白": ["沈默白"], "陆遥": ["陆瑶"]},
    facts=["林微 · 状态 · 死亡（第12章起）", "顾清寒 · 状态 · 死亡（第40章起）", "萧长风 · 境界 · 金丹（第20章起）",
           "苏婉 · 境界 · 筑基（第8章起）", "青冥剑 · 主人 · 林微（第5章起）", "紫霄印 · 主人 · 萧长风（第3章起）"],
    lore="境界：炼气 < 筑基 < 金丹 < 元婴 < 化神\n曲率引擎 ≠ 曲速引擎\n太虚幻境 ≠ 太虚幻景\n落霞山 ≠ 落霞岭",
    items=[("青冥剑", "林微"), ("紫霄印", "萧长风")],
    terms=[("曲率引擎", "曲速引擎"), ("太虚幻境", "太虚幻景"), ("落霞山", "落霞岭")],
    new_names=["程远", "叶知秋", "韩松", "唐小棠", "周牧"],
    planted={
        "name_near_miss": ["{miss}推开窗，望着院中的积雪。", "只见{miss}从廊下走来。", "{miss}低声道：“且慢。”"],
        "glossary_variant": ["那艘船的{variant}忽然熄了火。", "众人说起{variant}的旧事。"],
        "dead_character_acts": ["{dead}说道：“我回来了。”", "{dead}点头，转身出了门。", "{dead}笑道：“何必如此。”"],
        "rank_regression": ["{name}不过是{lower}修士。", "{name}的修为停留在{lower}。", "{name}仍是{lower}境界。"],
        "owner_mismatch": ["{other}拔出{item}，寒光四射。", "{other}手中的{item}嗡嗡作响。", "{other}握着{item}站在门口。"],
    },
    # contradictions the rules do not target (reported apart, as the known gaps)
    gaps=["{dead}的声音从门外传来：“开门。”", "{name}连{lower}的门槛都没摸到。", "{item}如今挂在{other}腰间。",
          "“{dead}？她刚才还在厨房。”", "那位死去多年的人又一次{dead_action}。"],
    clean=["{alive}推开窗，望着院中的积雪。", "众人想起{dead}说过的话，一时无言。", "{name}已是{higher}修士。",
           "{owner}拔出{item}，寒光四射。", "那艘船的{term}忽然熄了火。", "{new}从廊下走来，{alive}点头。",
           "{alive}看着{owner}的{item}，叹了口气。"],
)
EN: dict[str, Any] = dict(
    people=[("Mara Quill", ["Mara"]), ("Tobin Ash", ["Tobin"]), ("Selene Roe", ["Selene"]),
            ("Corvin Hale", ["Corvin"]), ("Isolde Wren", ["Isolde"]), ("Bram Oakes", ["Bram"])],
    near_misses={"Mara Quill": ["Marra", "Mora"], "Tobin Ash": ["Tobyn", "Toben"], "Selene Roe": ["Selena", "Seline"],
                 "Corvin Hale": ["Corvyn", "Corwin"], "Isolde Wren": ["Isolda"], "Bram Oakes": ["Brahm"]},
    facts=["Mara Quill · status · dead (since chapter 12)", "Isolde Wren · status · dead (since chapter 40)",
           "Tobin Ash · rank · Adept (since chapter 20)", "Selene Roe · rank · Master (since chapter 8)",
           "Moonblade · owner · Mara Quill (since chapter 5)", "Ember Seal · owner · Tobin Ash (since chapter 3)"],
    lore="rank: Novice < Apprentice < Adept < Master < Archmage\nwarp engine != warp drive\n"
         "Glass Citadel != Crystal Citadel\nstarwell != star well",
    items=[("Moonblade", "Mara Quill"), ("Ember Seal", "Tobin Ash")],
    terms=[("warp engine", "warp drive"), ("Glass Citadel", "Crystal Citadel"), ("starwell", "star well")],
    new_names=["Penrose", "Aldous Vey", "Kestrel", "Wynn", "Dagny"],
    planted={
        "name_near_miss": ["At dusk {miss} opened the shutters.", "Then {miss} came down the stairs.",
                           "\"Wait,\" {miss} murmured."],
        "glossary_variant": ["The {variant} of the ship fell silent.", "They spoke of the {variant} again."],
        "dead_character_acts": ["{dead} said, \"I am back.\"", "{dead} nodded and left the room.",
                                "{dead} smiled at them all."],
        "rank_regression": ["Everyone knew {name} was only {a_lower}.", "{name} remained {a_lower} after all.",
                            "{name} was still {a_lower}."],
        "owner_mismatch": ["{other} drew the {item} and waited.", "{other}'s {item} glowed faintly.",
                           "{other} held the {item} high."],
    },
    gaps=["A voice at the door, {dead}'s own, asked to be let in.", "{name} had never risen past {lower}.",
          "The {item} now hung at {other}'s belt.", "\"{dead}? She was in the kitchen a moment ago.\"",
          "{dead}, pale but alive, raised a hand."],
    clean=["At dusk {alive} opened the shutters.", "They remembered how {dead} said goodbye.",
           "{name} was already {a_higher}.", "{owner} drew the {item} and waited.",
           "The {term} of the ship fell silent.", "Then {new} came down the stairs and {alive} nodded.",
           "{alive} looked at {owner}'s {item} and sighed."],
)


def _article(word: str) -> str:
    return ("an " if word[0].lower() in "aeiou" else "a ") + word


def build_book(language: str) -> Book:
    spec = ZH if language == "zh" else EN
    people = [Person(i + 1, name, aliases) for i, (name, aliases) in enumerate(spec["people"])]
    entry = Entry(1, "rules", [], spec["lore"])
    things = [Entry(i + 2, item, [item], "") for i, (item, _owner) in enumerate(spec["items"])]
    lore = parse_lines(spec["lore"].splitlines(), "lore", entry.id)
    stated = parse_lines(spec["facts"], "fact", None)
    facts = story_facts(language, characters=people, lore_entries=[entry, *things], facts=stated.facts,
                        glossary=lore.glossary, rank_scales=lore.rank_scales)
    ladder = list(lore.rank_scales[0].levels)
    dead = [(f.subject, f.since_chapter or 0) for f in stated.facts if f.attribute == "status"]
    ranks = [(f.subject, ladder.index(f.value)) for f in stated.facts if f.attribute == "rank"]
    return Book(language, facts, spec["near_misses"], dead, ranks, ladder, spec["items"], spec["terms"],
                spec["new_names"], spec["planted"], spec["gaps"], spec["clean"])


def _short(book: Book, name: str) -> str:
    """A character as the prose calls them (the alias when there is one, for English)."""
    aliases = book.facts.names_of(name)[1:]
    return aliases[0] if book.language == "en" and aliases else name


def fill(book: Book, template: str, rng: random.Random, chapter: int) -> str:
    dead_names = [n for n, since in book.dead if chapter > since]
    alive = [n for n in book.near_misses if n not in dead_names]
    name, level = rng.choice(book.ranks)
    owned = [(i, o) for i, o in book.items if o not in dead_names] if "{owner}" in template else book.items
    item, owner = rng.choice(owned)
    other = rng.choice([n for n in alive if n != owner])
    lower = book.ladder[rng.randrange(level)]
    higher = book.ladder[rng.randrange(level, len(book.ladder))]
    term, variant = rng.choice(book.terms)
    miss_of = rng.choice(list(book.near_misses))
    values = {"miss": rng.choice(book.near_misses[miss_of]), "variant": variant, "term": term,
              "dead": _short(book, rng.choice(dead_names or [book.dead[0][0]])), "name": _short(book, name),
              "lower": lower, "higher": higher, "a_lower": _article(lower), "a_higher": _article(higher),
              "item": item, "owner": _short(book, owner), "other": _short(book, other),
              "alive": _short(book, rng.choice(alive)), "new": rng.choice(book.new_names), "dead_action": "开口"}
    return template.format(**values)


def excerpts(text: str, language: str, count: int, size: int, rng: random.Random) -> list[str]:
    """`count` runs of about `size` characters of real prose, cut at sentence ends."""
    body = re.sub(r"^#.*$|^-+$", "", text, flags=re.M)
    ends = "。！？" if language == "zh" else ".!?"
    found: list[str] = []
    while len(found) < count:
        start = rng.randrange(0, len(body) - size * 2)
        while start < len(body) and body[start] not in ends:
            start += 1
        stop = start + size
        while stop < len(body) and body[stop] not in ends:
            stop += 1
        found.append(body[start + 1: stop + 1].strip())
    return found


def insert(excerpt: str, sentence: str, language: str, rng: random.Random) -> tuple[str, tuple[int, int]]:
    ends = "。！？" if language == "zh" else ".!?"
    cuts = [i + 1 for i, c in enumerate(excerpt) if c in ends] or [len(excerpt)]
    at = rng.choice(cuts)
    joiner = "" if language == "zh" else " "
    head = excerpt[:at] + joiner
    return head + sentence + joiner + excerpt[at:], (len(head), len(head) + len(sentence))


def cases(book: Book, prose: str, per_kind: int, clean_count: int, rng: random.Random) -> list[Case]:
    """Planted cases of each kind, then the known-gap cases (kind "gap"), then clean ones."""
    made: list[Case] = []
    jobs: list[tuple[str | None, str]] = [(kind, t) for kind, ts in book.planted.items()
                                          for t in (ts * per_kind)[:per_kind]]
    jobs += [("gap", t) for t in book.gaps * 4]
    jobs += [(None, t) for t in (book.clean * clean_count)[:clean_count]]
    for (kind, template), excerpt in zip(jobs, excerpts(prose, book.language, len(jobs), 500, rng)):
        chapter = rng.randrange(41, 80)
        passage, span = insert(excerpt, fill(book, template, rng, chapter), book.language, rng)
        made.append(Case(passage, chapter, kind, span))
    return made
