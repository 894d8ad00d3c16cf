"""Every template renders in both languages; strictness, variables, stop markers, presets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prompts import (LANGUAGES, PromptError, constant_list, list_templates, render, render_item, render_with_stop,
                     template_variables)

TASKS = ["brainstorm", "character_bio", "continue", "continuity_check", "draft", "outline", "polish", "roleplay",
         "script_outline", "short_video", "summary"]
MEMORY = {"title": "ZZTITLE", "genre": "ZZGENRE", "synopsis": "ZZSYNOPSIS", "style_guide": "ZZSTYLE",
          "lore_before": ["ZZLOREA\n"], "characters": ["ZZCHAR\n"], "lore_after": ["ZZLOREB\n"],
          "summaries": ["ZZSUMMARY\n"], "retrieved": ["ZZOLD\n"], "recent": "ZZRECENT\n",
          "previous_ending": "ZZPREVIOUS",
          "chapter_number": 7, "chapter_title": "ZZCHAPTER", "chapter_outline": "ZZOUTLINE"}
TASK_VALUES = {
    "polish": {"passage": "ZZPASSAGE", "preset": "vivid", "instruction": "ZZINSTRUCTION"},
    "character_bio": {"name": "ZZNAME", "notes": "ZZNOTES"},
    "outline": {"premise": "ZZPREMISE", "character_notes": "ZZCHARNOTES", "chapter_count": 12},
    "roleplay": {"char_name": "ZZPARTNER", "user_name": "ZZUSER", "persona_description": "ZZPERSONA",
                 "system_prompt": "", "post_history_instructions": ""},  # a card's; see the test below
    "script_outline": {"premise": "ZZPREMISE"},
    "short_video": {"topic": "ZZTOPIC", "duration_s": 45},
    "brainstorm": {"count": 4},
    "summary": {"max_chars": 150},
    "continuity_check": {"subject": "ZZSUBJECT", "attribute": "ZZATTR", "value": "ZZVALUE", "since_chapter": 12,
                         "passage": "ZZPASSAGE"},
}


def values_for(task: str) -> dict:
    return {**MEMORY, **TASK_VALUES.get(task, {})}


def test_both_languages_have_the_same_tasks_and_variables():
    for language in LANGUAGES:
        assert list_templates(language) == TASKS
    for task in TASKS:
        assert template_variables("zh", task) == template_variables("en", task)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("task", TASKS)
def test_every_template_renders_its_values_and_declares_stops(language, task):
    values = values_for(task)
    prompt, stop = render_with_stop(language, task, **values)
    for name in template_variables(language, task):
        value = values[name]
        shown = value if isinstance(value, str) else (value[0].strip() if isinstance(value, list) else str(value))
        if name not in ("preset", "user_name") and shown:
            assert shown in prompt, f"{name} missing from {language}/{task}"
    assert stop and all(isinstance(s, str) and s for s in stop)
    assert not any(prompt.endswith(s) for s in stop)  # generation is not stopped before it starts
    assert prompt == render(language, task, **values)
    assert not prompt.endswith(" ")  # a base model continues right after the last character


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("task", TASKS)
def test_a_missing_value_is_an_error_not_an_empty_string(language, task):
    required = sorted(template_variables(language, task) - {"count", "max_chars", "chapter_count", "duration_s"})
    values = values_for(task)
    del values[required[0]]
    with pytest.raises(PromptError, match=required[0]):
        render(language, task, **values)


def test_continuation_points():
    assert render("zh", "roleplay", **values_for("roleplay")).endswith("ZZRECENT\nZZPARTNER：")
    assert render("en", "roleplay", **values_for("roleplay")).endswith("ZZRECENT\nZZPARTNER:")
    assert render("zh", "continue", **values_for("continue")).endswith("ZZRECENT\n")
    assert render("en", "brainstorm", **values_for("brainstorm")).endswith("\n1.")
    assert render("zh", "outline", **values_for("outline")).endswith("第1章")


def test_stops_computed_from_values():
    assert "\nZZUSER：" in render_with_stop("zh", "roleplay", **values_for("roleplay"))[1]
    assert "\n5." in render_with_stop("en", "brainstorm", **values_for("brainstorm"))[1]
    assert render_with_stop("zh", "continue", **values_for("continue"))[1] == ("\n【", "（本章完）", "（未完待续）")
    with pytest.raises(PromptError):
        render_with_stop("zh", "roleplay")  # its markers need the user's name


@pytest.mark.parametrize("language", LANGUAGES)
def test_polish_presets_and_free_instruction(language):
    presets = constant_list(language, "polish", "presets")
    assert set(presets) == {"polish", "tighten", "vivid", "pacing", "pov", "grammar"}
    values = values_for("polish")
    for key, text in presets.items():
        assert text in render(language, "polish", **{**values, "preset": key})
    free = render(language, "polish", **{**values, "preset": None, "instruction": "ZZFREE"})
    assert "ZZFREE" in free and not any(text in free for text in presets.values())
    with pytest.raises(PromptError):
        render(language, "polish", **{**values, "preset": "no-such-preset"})


def test_empty_memory_sections_leave_no_headings():
    values = {**values_for("continue"), "synopsis": "", "style_guide": "", "genre": "",
              **{k: [] for k in ("lore_before", "characters", "lore_after", "summaries", "retrieved")}}
    prompt = render("zh", "continue", **values)
    assert "【人物】" not in prompt and "【故事梗概】" not in prompt and "ZZOUTLINE" in prompt


def test_items_render_per_language():
    assert render_item("zh", "note", text="慢") == "（作者注：慢）\n"
    assert render_item("en", "chat_line", speaker="Ann", text="Hi.") == "Ann: Hi.\n"
    sheet = render_item("en", "character", name="Ann", aliases=["Annie"], description="a smith", personality="",
                        appearance="", background="", speech_style="", scenario="", example_dialogue="")
    assert sheet == "Ann (also called Annie)\n  Who: a smith\n"
    with pytest.raises(PromptError):
        render_item("en", "no_such_macro")


def test_unknown_language_and_template():
    with pytest.raises(PromptError, match="language"):
        render("fr", "draft")
    with pytest.raises(PromptError, match="no prompt template"):
        render("zh", "nope")


def test_no_prompt_text_in_python():
    """Prompt wording lives in templates: the renderer and the memory builder hold no CJK text."""
    root = Path(__file__).resolve().parents[2]
    sources = [root / "prompts" / "__init__.py", *sorted((root / "app" / "memory").glob("*.py"))]
    for source in sources:
        assert not re.search(r"[\u4e00-\u9fff]", source.read_text(encoding="utf-8")), source


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_cards_system_prompt_leads_the_chat_and_its_post_history_note_follows_it(language):
    values = {**values_for("roleplay"), "system_prompt": "ZZSYSTEM", "post_history_instructions": "ZZPOST"}
    prompt = render(language, "roleplay", **values)
    assert prompt.index("ZZSYSTEM") < prompt.index("ZZRECENT") < prompt.index("ZZPOST") < prompt.rindex("ZZPARTNER")
    assert prompt.endswith("ZZPOST\nZZPARTNER：" if language == "zh" else "ZZPOST]\nZZPARTNER:")
