"""Prompt-building cost versus the novel's length (DESIGN §5: cost must not grow with the book).

Builds two synthetic Chinese novels that share 500 lore entries and 60 characters: one of 30
chapters and one of 300 chapters (≈1.5M characters), then times `build_context` for a "continue"
on the last chapter of each under an 8K-context budget, counting tokens with the tiny model's real
tokenizer (a fresh count each call: no cache carried between builds). Prints one JSON line per
measurement; the LAST line is {"build_ms_30", "build_ms_300", "growth_ratio_300_vs_30"} (goal ≤ 2).
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine.tiny import build_tiny_checkpoint  # noqa: E402
from app.memory import ContextTask, build_context  # noqa: E402
from story_store.records import ChapterRecord, CharacterRecord, LoreEntryRecord, ProjectRecord  # noqa: E402

WHEN = datetime(2026, 1, 1)
SURNAMES, GIVEN = "李赵林王张陈刘杨黄吴周徐孙马朱胡郭何高罗", "逍遥灵儿月如青云长风明远若水清音子墨天行"
PLACES = [f"{a}{b}" for a in "东西南北青白黑金玉云" for b in "山城河谷镇岭湖关寺阁"]  # 100 places
VERBS = ["走进了", "望着", "想起了", "离开了", "守在", "说起"]
BUDGET_TOKENS = 8192 - 512 - 64  # context − max new tokens − margin
REPEATS = 15


def sentence(rng: random.Random, names: list[str]) -> str:
    who, where = rng.choice(names), rng.choice(PLACES)
    return f"{who}{rng.choice(VERBS)}{where}，{rng.choice(['风很大', '夜色深沉', '四下无声'])}。" + (
        "\n" if rng.random() < 0.3 else "")


def chapter_text(rng: random.Random, names: list[str], chars: int) -> str:
    parts, size = [], 0
    while size < chars:
        parts.append(sentence(rng, names))
        size += len(parts[-1])
    return "".join(parts)


def novel(chapters: int, rng: random.Random, names: list[str]) -> list[ChapterRecord]:
    out = []
    for i in range(1, chapters + 1):
        out.append(ChapterRecord(
            id=i, project_id=1, ordinal=i, title=f"第{i}回", outline=f"{rng.choice(names)}前往{rng.choice(PLACES)}。",
            summary=chapter_text(rng, names, 120), status="draft", text=chapter_text(rng, names, 5000), version=1,
            pov_character_id=1, created_at=WHEN, updated_at=WHEN, deleted_at=None))
    return out


def memory(rng: random.Random) -> tuple[list[str], list[CharacterRecord], list[LoreEntryRecord]]:
    names = [s + g for s, g in zip(SURNAMES * 3, (GIVEN[i:i + 2] for i in range(0, 60, 1)))][:60]
    chars = [CharacterRecord(
        id=i + 1, project_id=1, name=name, aliases=[name[1:]], description=chapter_text(rng, names, 80),
        personality="沉稳", appearance="", background="", speech_style="", greeting="", example_dialogue="",
        scenario="", pinned=i < 2, extensions={}, card_data={}, created_at=WHEN, updated_at=WHEN, deleted_at=None)
        for i, name in enumerate(names)]
    lore = [LoreEntryRecord(
        id=i + 1, project_id=1, title=f"设定{i}", content=chapter_text(rng, names, 60),
        keys=[PLACES[i % len(PLACES)], f"/{PLACES[(i * 7) % len(PLACES)]}(之|的)/"] if i % 5 else [],
        secondary_keys=[rng.choice(names)] if i % 3 == 0 else [], selective_logic=["and_any", "not_all"][i % 2],
        constant=i % 50 == 0, enabled=True, case_sensitive=False, match_whole_words=False,
        insertion_order=rng.randint(0, 300), position=["before_char", "after_char", "at_depth"][i % 3], depth=4,
        probability=100 if i % 4 else 70, scan_depth=None, ignore_budget=False, exclude_recursion=False,
        prevent_recursion=False, extensions={}, created_at=WHEN, updated_at=WHEN, deleted_at=None)
        for i in range(500)]
    return names, chars, lore


def build_ms(chapters, chars, lore, project, count_tokens, seed: int) -> float:
    started = time.perf_counter()
    plan = build_context(ContextTask("continue"), project=project, characters=chars, lore_entries=lore,
                         chapters=chapters, current_chapter_id=chapters[-1].id, budget_tokens=BUDGET_TOKENS,
                         count_tokens=count_tokens, seed=seed)
    elapsed = (time.perf_counter() - started) * 1000
    assert plan.used_tokens <= BUDGET_TOKENS
    return elapsed


def time_both(short_book, long_book, chars, lore, project, count_tokens) -> tuple[float, float]:
    """Median build time of each book; the two are interleaved so both see the same machine load."""
    short, long = [], []
    for repeat in range(REPEATS):
        short.append(build_ms(short_book, chars, lore, project, count_tokens, repeat))
        long.append(build_ms(long_book, chars, lore, project, count_tokens, repeat))
    return statistics.median(short), statistics.median(long)


def main() -> None:
    from transformers import AutoTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = AutoTokenizer.from_pretrained(build_tiny_checkpoint(Path(tmp) / "tiny"))
    tokenizer.model_max_length = 10**9  # we count long texts on purpose; no truncation warning
    count_tokens = lambda text: len(tokenizer.encode(text, add_special_tokens=False))  # noqa: E731
    rng = random.Random(0)
    names, chars, lore = memory(rng)
    project = ProjectRecord(id=1, title="长风志", language="zh", genre="仙侠", synopsis=chapter_text(rng, names, 300),
                            style_guide="白描为主。", authors_note="节奏放慢。", settings={}, created_at=WHEN,
                            updated_at=WHEN, deleted_at=None)
    long_book = novel(300, rng, names)
    short_book = long_book[:29] + [long_book[-1]]  # same current chapter, 30 chapters in all
    short_book = [ChapterRecord(**{**c.__dict__, "ordinal": i + 1}) for i, c in enumerate(short_book)]
    print(json.dumps({"chapters_300_chars": sum(len(c.text) for c in long_book), "lore_entries": len(lore),
                      "characters": len(chars), "budget_tokens": BUDGET_TOKENS}))
    build_ms(short_book, chars, lore, project, count_tokens, 0)  # warm-up (regex and template caches)
    ms_30, ms_300 = time_both(short_book, long_book, chars, lore, project, count_tokens)
    print(json.dumps({"build_ms_30": round(ms_30, 2), "build_ms_300": round(ms_300, 2),
                      "growth_ratio_300_vs_30": round(ms_300 / ms_30, 3)}))


if __name__ == "__main__":
    main()
