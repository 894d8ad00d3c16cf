"""Polish: presets/instructions streamed into a passage, the diff, accepting into the chapter."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.studio import DiffOp, InvalidInput, SaveConflict, Studio
from app.studio.diffing import diff_texts
from studio_helpers import drain, new_project

ORIGINAL = "夜雨敲窗，他独坐灯下。"


def _rebuild(ops: list[DiffOp]) -> tuple[str, str]:
    before = "".join(op.text for op in ops if op.kind != "insert")
    after = "".join(op.text for op in ops if op.kind != "delete")
    return before, after


def test_polish_streams_into_a_passage_and_accept_replaces_the_selection(studio: Studio, store):
    project = new_project(studio)
    chapter = studio.chapters.add_chapter(project.id, title="夜雨")
    chapter = studio.chapters.save_chapter(chapter.id, f"开头。{ORIGINAL}结尾。", base_version=0)
    _, final = drain(studio.polish.polish(ORIGINAL, "vivid", chapter_id=chapter.id, seed=3))
    passage = store.get_passage(final.passage_ids[0])
    assert (passage.origin, passage.task, passage.text, passage.chapter_id) == ("polish", "polish", final.texts[0], chapter.id)
    assert final.chapter is None and studio.chapters.get_chapter(chapter.id).version == chapter.version

    polished = "夜雨轻敲窗棂，他独自坐在灯下。"
    ops = studio.polish.diff(ORIGINAL, polished)
    assert _rebuild(ops) == (ORIGINAL, polished)
    assert {op.kind for op in ops} == {"equal", "insert"}  # CJK: character-level, nothing deleted here
    saved = studio.polish.accept_polish(chapter.id, ORIGINAL, polished, base_version=chapter.version)
    assert saved.text == f"开头。{polished}结尾。" and saved.version == chapter.version + 1
    assert studio.chapters.list_revisions(chapter.id)[0].source == "ai"


def test_accept_polish_refuses_stale_versions_and_vanished_passages(studio: Studio):
    project = new_project(studio)
    chapter = studio.chapters.add_chapter(project.id)
    chapter = studio.chapters.save_chapter(chapter.id, ORIGINAL, base_version=0)
    newer = studio.chapters.save_chapter(chapter.id, ORIGINAL + "又一句。", base_version=chapter.version)
    with pytest.raises(SaveConflict) as caught:
        studio.polish.accept_polish(chapter.id, ORIGINAL, "改过的。", base_version=chapter.version)
    assert caught.value.current_version == newer.version
    with pytest.raises(InvalidInput, match="no longer in the chapter"):
        studio.polish.accept_polish(chapter.id, "不存在的句子", "改过的。", base_version=newer.version)
    assert studio.chapters.get_chapter(chapter.id).text == newer.text and studio.chapters.get_chapter(chapter.id).version == newer.version


def test_polish_budget_follows_the_passage_not_the_task_default(studio: Studio, store):
    project = new_project(studio)  # its configured polish budget (16 tokens) would cut any polish short
    chapter = studio.chapters.add_chapter(project.id)
    passage = ORIGINAL * 8
    stream = studio.polish.polish(passage, "vivid", chapter_id=chapter.id, seed=2).updates()
    opening = next(stream)
    stream.close()
    wanted = 2 * studio._core.engine.count_tokens(passage) + 32
    expected = min(wanted, studio.settings.engine_info().context_length // 2)
    assert expected > 16 and store.get_passage(opening.passage_ids[0]).sampling["max_new_tokens"] == expected


def test_accept_polish_with_start_and_finished_passage(studio: Studio, store):
    project = new_project(studio)
    chapter = studio.chapters.add_chapter(project.id)
    chapter = studio.chapters.save_chapter(chapter.id, f"{ORIGINAL}中间。{ORIGINAL}", base_version=0)
    with pytest.raises(InvalidInput, match="appears 2 times"):
        studio.polish.accept_polish(chapter.id, ORIGINAL, "改。", base_version=chapter.version)
    second = len(ORIGINAL) + len("中间。")
    with pytest.raises(InvalidInput, match="no longer at that place"):
        studio.polish.accept_polish(chapter.id, ORIGINAL, "改。", base_version=chapter.version, start=1)
    cut = store.create_passage(project.id, chapter_id=chapter.id, origin="polish", task="polish", text="改")
    store.update_passage(cut.id, status="done", finish_reason="length")
    with pytest.raises(InvalidInput, match="cut short"):
        studio.polish.accept_polish(chapter.id, ORIGINAL, "改", base_version=chapter.version, start=second, passage_id=cut.id)
    assert studio.chapters.get_chapter(chapter.id).version == chapter.version
    whole = store.create_passage(project.id, chapter_id=chapter.id, origin="polish", task="polish", text="改。")
    store.update_passage(whole.id, status="done", finish_reason="stop")
    saved = studio.polish.accept_polish(chapter.id, ORIGINAL, "改。", base_version=chapter.version, start=second,
                                 passage_id=whole.id)
    assert saved.text == f"{ORIGINAL}中间。改。" and saved.version == chapter.version + 1


def test_pasted_passage_polishes_without_storing_and_inputs_are_checked(studio: Studio, store):
    project = new_project(studio, language="en")
    _, final = drain(studio.polish.polish("The rain fell. He sat alone.", None, instruction="Make it tense", seed=1))
    assert final.passage_ids == () and final.done
    assert store.list_passages(project.id) == []
    with pytest.raises(InvalidInput, match="preset"):
        studio.polish.polish("text", "no-such-preset")
    with pytest.raises(InvalidInput):
        studio.polish.polish("text", None, instruction="")
    with pytest.raises(InvalidInput):
        studio.polish.polish("   ", "polish")


def test_diff_is_word_level_for_latin_text():
    ops = diff_texts("The quick brown fox.", "The slow brown foxes.")
    assert ops == [DiffOp("equal", "The "), DiffOp("delete", "quick"), DiffOp("insert", "slow"),
                   DiffOp("equal", " brown "), DiffOp("delete", "fox"), DiffOp("insert", "foxes"),
                   DiffOp("equal", ".")]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab 夜雨，。\nxyz’'", max_size=40), st.text(alphabet="ab 夜雨，。\nxyz’'", max_size=40))
def test_diff_ops_rebuild_both_texts(original: str, revised: str):
    ops = diff_texts(original, revised)
    assert _rebuild(ops) == (original, revised)
    assert all(op.text for op in ops)
    assert all(a.kind != b.kind for a, b in zip(ops, ops[1:]))


def test_rejecting_a_finished_polish_is_learned_and_a_cut_short_one_is_not(studio: Studio, store):
    project = new_project(studio)
    chapter = studio.chapters.add_chapter(project.id, title="夜雨")
    finished = store.create_passage(project.id, chapter_id=chapter.id, text="夜雨急敲窗棂。", task="polish")
    store.update_passage(finished.id, finish_reason="stop", status="done")
    cut = store.create_passage(project.id, chapter_id=chapter.id, text="夜雨急", task="polish")
    store.update_passage(cut.id, finish_reason="length", status="done")
    assert studio.style.reject_polish(cut.id, ORIGINAL) == 0  # a truncated attempt teaches nothing
    assert studio.style.reject_polish(finished.id, ORIGINAL) == 1
    (pair,) = store.preference_pairs(project.id)
    assert (pair.kind, pair.chosen, pair.rejected) == ("polish_reject", ORIGINAL, "夜雨急敲窗棂。")
    draft = store.create_passage(project.id, chapter_id=chapter.id, text="草稿。", task="draft")
    with pytest.raises(InvalidInput) as refused:
        studio.style.reject_polish(draft.id, ORIGINAL)
    assert refused.value.message.code == "style.not_a_polish"
