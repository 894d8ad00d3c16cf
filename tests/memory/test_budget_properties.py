"""Properties under the tiny model's real tokenizer: the budget is never exceeded, whatever the
inputs; consecutive "continue" prompts share a long token prefix."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from memory_records import chapter, character, lore, project

from app.memory import ChatLine, ContextBudgetError, ContextTask, build_context

ALPHABET = "李逍遥赵灵儿林月如剑仙客栈龙山水风。！？，“”\n abcdefgXYZ.!?'\"…"
texts = st.text(alphabet=ALPHABET, max_size=400)
names = st.text(alphabet="李赵林月灵剑仙龙AbcX", min_size=1, max_size=4)


@st.composite
def stories(draw):
    char_names = draw(st.lists(names, max_size=5, unique=True))
    chars = [character(i + 1, n, description=draw(texts), pinned=draw(st.booleans()))
             for i, n in enumerate(char_names)]
    entries = [lore(i + 1, draw(st.lists(st.sampled_from([*char_names, "龙", "/剑.?仙/", "X"]), max_size=3)),
                    draw(texts), constant=draw(st.booleans()), probability=draw(st.integers(0, 100)),
                    position=draw(st.sampled_from(["before_char", "after_char", "at_depth"])),
                    depth=draw(st.integers(0, 6)), ignore_budget=draw(st.booleans()))
               for i in range(draw(st.integers(0, 8)))]
    count = draw(st.integers(1, 12))
    chapters = [chapter(i + 1, i + 1, summary=draw(texts), outline=draw(texts)) for i in range(count - 1)]
    body = draw(st.text(alphabet=ALPHABET, max_size=3000))
    chapters.append(chapter(count, count, body, pov_character_id=draw(st.sampled_from([None, 1, 2]))))
    proj = project(language=draw(st.sampled_from(["zh", "en"])), synopsis=draw(texts), style_guide=draw(texts),
                   authors_note=draw(texts), settings={"lore_recursion_depth": draw(st.integers(0, 3))})
    return proj, chars, entries, chapters


@st.composite
def tasks(draw):
    kind = draw(st.sampled_from(["continue", "draft", "brainstorm", "polish", "roleplay", "summary"]))
    if kind == "polish":
        return ContextTask("polish", values={"passage": draw(texts), "preset": "vivid", "instruction": draw(texts)})
    if kind == "roleplay":
        lines = tuple(ChatLine(draw(names), draw(texts)) for _ in range(draw(st.integers(0, 6))))
        return ContextTask("roleplay", values={"char_name": "林月如", "user_name": "我"}, transcript=lines,
                           focus_character_ids=(1,))
    return ContextTask(kind)


@settings(max_examples=int(os.environ.get("INKSTONE_PROPERTY_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(story=stories(), task=tasks(), budget=st.one_of(st.integers(1, 300), st.integers(300, 3000)),
       seed=st.integers(0, 2**31))
def test_rendered_prompt_never_exceeds_the_budget(count_tokens, story, task, budget, seed):
    proj, chars, entries, chapters = story
    try:
        plan = build_context(task, project=proj, characters=chars, lore_entries=entries, chapters=chapters,
                             current_chapter_id=chapters[-1].id, budget_tokens=budget,
                             count_tokens=count_tokens, seed=seed)
    except ContextBudgetError:
        return  # the task's own text does not fit: refused with a clear error, nothing rendered
    assert count_tokens(plan.render()) == plan.used_tokens <= budget
    recent = plan.section("recent").items
    if recent and recent[0].text and task.template not in ("roleplay",):
        assert chapters[-1].text.endswith(recent[0].text)


SENTENCES = ["李逍遥推开客栈的门，风雪灌了进来。", "赵灵儿抬起头，看了他一眼。", "“你来晚了。”她说。",
             "远处的山上传来钟声！", "他没有回答，只是握紧了剑？", "The wind howled.\n"]


def grow(n_chars: int, start: int = 0) -> str:
    out, i = [], start
    while sum(map(len, out)) < n_chars:
        out.append(SENTENCES[i % len(SENTENCES)])
        i += 1
    return "".join(out)


def shared_prefix_ratio(tokenizer, a: str, b: str) -> float:
    ids_a = tokenizer.encode(a, add_special_tokens=False)
    ids_b = tokenizer.encode(b, add_special_tokens=False)
    same = 0
    for x, y in zip(ids_a, ids_b):
        if x != y:
            break
        same += 1
    return same / max(len(ids_a), len(ids_b))


def continue_prompts(count_tokens, text_lengths, budget, authors_note=""):
    proj = project(style_guide="白描为主，少用形容词。", synopsis="少年李逍遥踏上修仙之路。" * 5,
                   authors_note=authors_note, settings={"authors_note_depth": 4})
    chars = [character(1, "李逍遥", pinned=True), character(2, "赵灵儿")]
    entries = [lore(1, ["客栈"], "客栈在余杭镇。"), lore(2, [], "蜀山派是天下第一剑派。", constant=True)]
    earlier = [chapter(i, i, summary=f"第{i}章：李逍遥遇到了新的麻烦。") for i in range(1, 6)]
    full = grow(max(text_lengths))
    out = []
    for length in text_lengths:
        chapters = [*earlier, chapter(6, 6, full[:length])]
        out.append(build_context(ContextTask("continue"), project=proj, characters=chars, lore_entries=entries,
                                 chapters=chapters, current_chapter_id=6, budget_tokens=budget,
                                 count_tokens=count_tokens).render())
    return out


def test_consecutive_continue_prompts_share_90_percent_prefix_when_the_text_fits(tokenizer, count_tokens):
    prompts = continue_prompts(count_tokens, [2000 + 200 * i for i in range(6)], budget=6000)
    ratios = [shared_prefix_ratio(tokenizer, a, b) for a, b in zip(prompts, prompts[1:])]
    assert min(ratios) >= 0.9, ratios


def test_consecutive_continue_prompts_share_90_percent_prefix_while_trimming(tokenizer, count_tokens):
    """A long chapter overflows the budget: the cut moves in whole blocks, so most steps keep the
    prefix and only an occasional step (a block jump) starts a fresh one."""
    prompts = continue_prompts(count_tokens, [8000 + 200 * i for i in range(16)], budget=6000)
    ratios = [shared_prefix_ratio(tokenizer, a, b) for a, b in zip(prompts, prompts[1:])]
    assert all(count_tokens(p) <= 6000 for p in prompts)
    assert sum(r >= 0.9 for r in ratios) >= 0.8 * len(ratios), ratios


def test_authors_note_at_depth_keeps_everything_before_it_shared(count_tokens):
    """The note sits a few paragraphs before the end, so a new prompt may differ from there on,
    never earlier."""
    first, second = continue_prompts(count_tokens, [2000, 2200], budget=6000, authors_note="节奏放慢")
    note_at = first.index("（作者注")
    assert second[:note_at] == first[:note_at] and note_at > 0.8 * len(first)
