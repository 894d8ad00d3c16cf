"""build_context: section order, reasons, long-range memory, insertion at depth, role-play, errors."""

from __future__ import annotations

import pytest
from memory_records import chapter, character, lore, project

from app.memory import ChatLine, ContextBudgetError, ContextTask, build_context
from prompts import PromptError

STORY = "李逍遥走进客栈。\n他看见了赵灵儿。“你好！”她说。\n" * 30


LAST = object()


def build(task="continue", *, budget=4000, count=len, chars=(), entries=(), chapters=None, current=LAST,
          proj=None, seed=0, **kw):
    chapters = chapters if chapters is not None else [chapter(1, 1, STORY)]
    current = chapters[-1].id if current is LAST and chapters else (None if current is LAST else current)
    return build_context(ContextTask(task, **kw) if isinstance(task, str) else task, project=proj or project(),
                         characters=list(chars), lore_entries=list(entries), chapters=chapters,
                         current_chapter_id=current, budget_tokens=budget, count_tokens=count, seed=seed)


def test_sections_render_stable_first(count_tokens):
    proj = project(style_guide="白描为主。", synopsis="少年踏上修仙之路。", authors_note="节奏放慢")
    chapters = [chapter(1, 1, summary="第一章的概要。"), chapter(2, 2, STORY)]
    plan = build(proj=proj, chapters=chapters, count=count_tokens,
                 chars=[character(1, "李逍遥"), character(2, "林月如")],
                 entries=[lore(1, ["客栈"], "客栈在余杭镇。"), lore(2, [], "常驻设定。", constant=True),
                          lore(3, ["赵灵儿"], "女娲后人。", position="after_char")])
    prompt = plan.render()
    marks = ["白描为主", "少年踏上", "常驻设定", "客栈在余杭镇", "李逍遥的简介", "女娲后人", "第一章的概要", "他看见了"]
    positions = [prompt.index(m) for m in marks]
    assert positions == sorted(positions)
    assert [s.name for s in plan.sections][:3] == ["frame", "style_guide", "synopsis"]
    assert plan.used_tokens == count_tokens(prompt) <= plan.budget
    left_out = {i.label: i.reason for i in plan.items("left_out")}
    assert left_out["林月如"] == "not named in the scanned text"
    assert plan.stop and all(isinstance(s, str) for s in plan.stop)


def test_creator_notes_and_unknown_card_fields_never_enter_the_prompt():
    hero = character(1, "李逍遥", pinned=True, card_data={"creator_notes": "SECRET-NOTE", "system_prompt": "SYS"},
                     extensions={"x": "EXT-VALUE"})
    prompt = build(chars=[hero]).render()
    assert "李逍遥的简介" in prompt
    assert "SECRET-NOTE" not in prompt and "SYS" not in prompt and "EXT-VALUE" not in prompt


def test_pov_and_pinned_included_without_mention_and_aliases_detect():
    chars = [character(1, "韩立", pinned=True), character(2, "南宫婉"), character(3, "Alexander", aliases=["灵儿"]),
             character(4, "Al")]
    chapters = [chapter(1, 1, STORY, pov_character_id=2)]
    plan = build(chars=chars, chapters=chapters)
    reasons = {i.label: (i.status, i.reason) for i in plan.section("characters").items}
    assert reasons["韩立"] == ("included", "pinned")
    assert reasons["南宫婉"][1] == "point-of-view character of the chapter"
    assert reasons["Alexander"] == ("included", "'灵儿' appears in the scanned text")
    assert reasons["Al"][0] == "left_out"


def test_summaries_newest_first_stop_when_full_and_do_not_grow_with_the_book():
    calls: list[str] = []

    def counting(text: str) -> int:
        calls.append(text)
        return len(text)

    many = [chapter(i, i, summary=f"第{i}章概要" + "事" * 40) for i in range(1, 301)] + [chapter(301, 301, STORY)]
    plan = build(chapters=many, budget=2000, count=counting)
    kept = [i.label for i in plan.section("summaries").items if i.status == "included"]
    assert kept and kept[-1] == "chapter 300 summary"
    numbers = [int(label.split()[1]) for label in kept]
    assert numbers == list(range(numbers[0], 301))  # a contiguous run ending at the newest chapter
    counted_summaries = [t for t in calls if "概要" in t and "事" * 40 in t and len(t) < 200]
    assert len(counted_summaries) <= len(kept) + 1  # older chapters are never tokenized
    assert plan.section("summaries").items[-1].label.startswith("chapters 1–")


def test_outline_stands_in_when_no_summary():
    plan = build(chapters=[chapter(1, 1, outline="大纲一"), chapter(2, 2, STORY)])
    assert "大纲一" in plan.render() and "（大纲）" in plan.render()


def test_recent_text_trimmed_at_a_sentence_boundary(count_tokens):
    plan = build(budget=600, count=count_tokens)
    item = plan.section("recent").items[0]
    assert item.status == "trimmed" and "sentence boundary" in item.reason
    assert STORY.endswith(item.text) and item.text[0] in "李他"
    assert STORY[len(STORY) - len(item.text) - 1] in "。！？\n”"
    assert plan.used_tokens <= 600


def test_authors_note_and_at_depth_lore_inserted_near_the_end():
    proj = project(authors_note="节奏放慢", settings={"authors_note_depth": 2})
    entry = lore(1, ["赵灵儿"], "灵儿会法术。", position="at_depth", depth=1)
    prompt = build(proj=proj, entries=[entry]).render()
    tail = prompt.split("\n")[-6:]
    assert tail[-1] == "" and any("作者注：节奏放慢" in line for line in tail)
    note_line = next(i for i, line in enumerate(tail) if "作者注" in line)
    lore_line = next(i for i, line in enumerate(tail) if "灵儿会法术" in line)
    assert note_line < lore_line < len(tail) - 1


def test_retrieval_uses_the_store_search(store):
    proj = store.create_project("仙剑", language="zh")
    old = store.create_chapter(proj.id, title="旧章", text="很久以前，林月如在扬州比武招亲。")
    current = store.create_chapter(proj.id, title="新章", text="林月如拔出了剑。")
    hero = store.create_character(proj.id, "林月如")
    plan = build_context(ContextTask("continue"), project=store.get_project(proj.id),
                         characters=store.list_characters(proj.id), lore_entries=[],
                         chapters=store.list_chapters(proj.id), current_chapter_id=current.id,
                         budget_tokens=3000, count_tokens=len, search=lambda q: store.search(proj.id, q))
    retrieved = plan.section("retrieved").items
    assert hero.name in plan.render()
    assert [i.status for i in retrieved] == ["included"]
    assert "扬州比武招亲" in plan.render() and f"chapter {old.id}" in retrieved[0].label


def test_roleplay_transcript_focus_character_and_stop():
    partner = character(1, "林月如", example_dialogue="林月如：哼！")
    task = ContextTask("roleplay", values={"char_name": "林月如", "user_name": "逍遥"},
                       transcript=(ChatLine("逍遥", "你好。"), ChatLine("林月如", "哼，你是谁？"), ChatLine("逍遥", "路过的。")),
                       focus_character_ids=(1,))
    plan = build(task, chars=[partner], chapters=[], current=None)
    prompt = plan.render()
    assert prompt.endswith("逍遥：路过的。\n林月如：")
    assert "林月如：哼！" in prompt  # example dialogue is shown for the role-play partner
    assert "\n逍遥：" in plan.stop


def test_polish_too_long_passage_is_a_clear_error_and_unknown_preset_too():
    with pytest.raises(ContextBudgetError, match="budget"):
        build("polish", budget=100, values={"passage": "长" * 500, "preset": "tighten", "instruction": ""})
    with pytest.raises(PromptError):
        build("polish", values={"passage": "文", "preset": "nonsense", "instruction": ""})
    with pytest.raises(PromptError, match="passage"):
        build("polish", values={"preset": "tighten", "instruction": ""})


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="budget_tokens"):
        build(budget=0)
    with pytest.raises(ValueError, match="not among"):
        build(current=99)
    with pytest.raises(ValueError, match="needs a current chapter"):
        build(chapters=[], current=None)
    with pytest.raises(PromptError, match="no prompt template"):
        build("no_such_task")


def test_same_seed_same_prompt_and_seed_changes_probability_lore():
    entries = [lore(i, ["客栈"], f"可能出现的设定{i}。", probability=50) for i in range(1, 9)]
    prompts = {seed: build(entries=entries, seed=seed).render() for seed in range(6)}
    assert build(entries=entries, seed=3).render() == prompts[3]
    assert len(set(prompts.values())) > 1


def test_english_project_renders_english_frame():
    plan = build(proj=project(language="en", title="The Long Road"),
                 chapters=[chapter(1, 1, "The rain fell. She ran.\n")])
    assert plan.render().startswith('Working notes and manuscript of the novel "The Long Road".')
    assert plan.render().endswith("The rain fell. She ran.\n")


def test_budget_holds_when_token_counts_are_not_additive():
    """Counted alone, small pieces underestimate the whole here (an extreme of BPE merging across
    boundaries): the assembled prompt is measured again and shrunk until it fits."""
    def lumpy(text: str) -> int:
        return len(text) if len(text) < 120 else 3 * len(text)

    summaries = [chapter(i, i, summary="概要" * 20) for i in range(1, 40)]
    chars = [character(i, f"角色{i}", pinned=True, description="描述" * 30) for i in range(1, 8)]
    for budget in (300, 700, 1500):
        plan = build(chapters=[*summaries, chapter(40, 40, STORY)], chars=chars, budget=budget, count=lumpy)
        assert lumpy(plan.render()) == plan.used_tokens <= budget
        assert plan.section("recent").items[0].status in ("trimmed", "left_out")  # gave way first
    for budget in (700, 1500):
        empty_chapter = build(chapters=[*summaries, chapter(40, 40, "")], chars=chars, budget=budget, count=lumpy)
        assert lumpy(empty_chapter.render()) == empty_chapter.used_tokens <= budget
        dropped = [i for i in empty_chapter.items() if i.reason == "dropped: the assembled prompt was over budget"]
        assert dropped  # with no recent text to trim, the lowest-priority items went


def test_a_long_transcript_is_cut_between_messages():
    lines = tuple(ChatLine("逍遥" if i % 2 else "林月如", f"第{i}句。还有第二句！" * 3) for i in range(200))
    task = ContextTask("roleplay", values={"char_name": "林月如", "user_name": "逍遥"}, transcript=lines)
    plan = build(task, chapters=[], current=None, budget=800)
    recent = plan.section("recent").items[0]
    assert recent.status == "trimmed" and plan.used_tokens <= 800
    first_line = recent.text.split("\n")[0]
    assert first_line.startswith(("逍遥：", "林月如：")) and first_line.endswith("！")


def test_previous_chapter_ending_carries_the_prose_into_a_new_chapter(count_tokens):
    earlier = chapter(1, 1, STORY + "最后，他推开了门。", summary="第一章概要。")
    plan = build("draft", chapters=[earlier, chapter(2, 2, "", outline="二人下山。")], count=count_tokens,
                 budget=1500)
    prompt = plan.render()
    item = plan.section("previous_ending").items[0]
    assert item.status == "included" and item.text.endswith("最后，他推开了门。")
    assert earlier.text.endswith(item.text) and item.text[0] in "李他"  # starts on a sentence
    assert prompt.index("第一章概要") < prompt.index("最后，他推开了门") < prompt.index("二人下山")
    assert plan.used_tokens <= 1500
