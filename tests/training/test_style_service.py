"""studio.style end to end on real parts: branch accepts and polish choices become preferences that
survive a restart, export with counts that `datasets` reads back, and a fine-tune on the project's
chapters yields an adapter that the studio lists and uses for generation."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine.transformers_engine import TransformersEngine
from app.studio import InvalidInput, Studio, StudioOptions
from story_store import Store

TOKENS = {"draft": 12, "continue": 12, "branch": 8, "brainstorm": 8, "summary": 8, "polish": 8, "roleplay": 8}


@pytest.fixture()
def demo_engine(demo_model_dir: Path) -> TransformersEngine:
    return TransformersEngine.from_path(demo_model_dir, quantization="fp32", device_map={"": "cpu"},
                                        context_length=512, model_id="demo")


def _studio(url: str, engine: TransformersEngine, folder: Path, base: Path) -> Studio:
    options = StudioOptions(export_dir=folder / "exports", stream_interval_s=0.01, persist_interval_s=0.05,
                            adapters_dir=folder / "adapters", base_model_path=base)
    return Studio(Store(url), engine, options)


def _book(studio: Studio, writer_texts) -> tuple[int, int]:
    project = studio.library.create_project("雨夜", language="zh")
    studio.library.update_project(project.id, settings={"max_new_tokens": TOKENS})
    train, heldout = writer_texts
    store = studio._core.store
    chapter = store.create_chapter(project.id, title="第一章", text="\n\n".join(train[:8]))
    store.create_chapter(project.id, title="第二章", text="\n\n".join(train[8:]))
    store.create_chapter(project.id, title="第三章", text="\n\n".join(heldout))
    return project.id, chapter.id


def test_choices_survive_a_restart_and_export_with_matching_counts(demo_engine, demo_model_dir, writer_texts,
                                                                    tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inkstone.db'}"
    studio = _studio(url, demo_engine, tmp_path, demo_model_dir)
    project_id, chapter_id = _book(studio, writer_texts)
    list(studio.branches.branch(chapter_id, 2, seed=5).updates())
    [siblings] = studio.branches.list_branches(chapter_id)
    chapter = studio.chapters.get_chapter(chapter_id)
    studio.branches.accept_passage(siblings[0].id, chapter.version, chapter_id)  # 1 branch preference
    store = studio._core.store
    polish = store.create_passage(project_id, chapter_id=chapter_id, text="雨下得更急了。", task="polish",
                                  prompt_hash=siblings[0].prompt_hash)
    store.update_passage(polish.id, finish_reason="stop")
    original = writer_texts[0][1][:10]
    chapter = studio.chapters.get_chapter(chapter_id)
    studio.polish.accept_polish(chapter_id, original, "雨下得更急了，灯笼摇晃。", chapter.version,
                                passage_id=polish.id)  # polish_accept + edited (the writer changed it)
    assert studio.style.reject_polish(polish.id, "原来的句子。") == 1  # polish_reject
    assert studio.style.preference_count(project_id) == 4
    store.close()

    restarted = _studio(url, demo_engine, tmp_path, demo_model_dir)  # a new Store on the same file
    pairs = restarted._core.store.preference_pairs(project_id)
    assert [p.kind for p in pairs] == ["branch", "polish_accept", "edited", "polish_reject"]
    assert pairs[0].prompt and not pairs[0].prompt.startswith("sha256:")  # the prompt text survived
    for layout in ("trl", "swift", "card"):
        sft, dpo = restarted.style.export_datasets(project_id, layout)
        assert dpo.rows == dpo.loaded_rows == 4
        assert sft.rows == sft.loaded_rows == 3 + 1  # three chapters + the accepted branch
    with pytest.raises(InvalidInput):
        restarted.style.export_datasets(project_id, "alpaca")
    restarted._core.store.close()


def test_fine_tune_lists_the_adapter_and_uses_it_for_generation(demo_engine, demo_model_dir, writer_texts,
                                                                tmp_path: Path) -> None:
    studio = _studio(f"sqlite:///{tmp_path / 'inkstone.db'}", demo_engine, tmp_path, demo_model_dir)
    project_id, _ = _book(studio, writer_texts)
    with pytest.raises(InvalidInput):
        studio.style.start_finetune(project_id, "../escape", steps=4)
    studio.style.start_finetune(project_id, "mine", steps=8)
    with pytest.raises(InvalidInput, match="still running"):
        studio.style.start_finetune(project_id, "second", steps=4)
    job = studio.style._jobs[project_id][1]
    state = job.wait(600)
    assert state.status == "finished", state
    [view] = studio.style.list_adapters(project_id)
    assert (view.name, view.steps, view.active) == ("mine", 8, False)
    assert view.heldout_ppl_base and view.heldout_ppl_adapter
    assert studio.style.use_adapter(project_id, "mine") == "mine"
    assert studio.style.list_adapters(project_id)[0].active
    assert studio.style.use_adapter(project_id, None) is None
    with pytest.raises(InvalidInput):
        studio.style.use_adapter(project_id, "missing")
    with pytest.raises(InvalidInput, match="already exists"):
        studio.style.start_finetune(project_id, "mine", steps=4)
    studio._core.store.close()


def test_dpo_on_the_writers_choices_needs_some_and_reports_how_many_it_now_prefers(
        demo_engine, demo_model_dir, writer_texts, tmp_path: Path) -> None:
    studio = _studio(f"sqlite:///{tmp_path / 'inkstone.db'}", demo_engine, tmp_path, demo_model_dir)
    project_id, chapter_id = _book(studio, writer_texts)
    with pytest.raises(InvalidInput) as refused:
        studio.style.start_finetune(project_id, "dpo", steps=2, dpo_steps=4)
    assert refused.value.message.code == "style.no_preferences" and "取舍" in refused.value.message.render("zh")
    list(studio.branches.branch(chapter_id, 2, seed=5).updates())
    [siblings] = studio.branches.list_branches(chapter_id)
    chapter = studio.chapters.get_chapter(chapter_id)
    studio.branches.accept_passage(siblings[1].id, chapter.version, chapter_id)  # branch 2 over branch 1
    started = studio.style.start_finetune(project_id, "dpo", steps=2, dpo_steps=6)
    assert started.total_steps == 8
    state = studio.style._jobs[project_id][1].wait(600)
    assert state.status == "finished", state
    [view] = studio.style.list_adapters(project_id)
    assert view.steps == 8 and view.dpo_accuracy is not None and 0.0 <= view.dpo_accuracy <= 1.0
    studio._core.store.close()
