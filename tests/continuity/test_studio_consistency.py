"""studio consistency over a real store and the tiny model: checks, branch ranking, editor, lore import."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.studio import InvalidInput, Studio, StudioOptions

FAST = {"branch": 8, "continue": 8}


@pytest.fixture()
def studio(store, tiny_parts, tmp_path: Path) -> Studio:
    from app.engine.transformers_engine import TransformersEngine

    model, tokenizer = tiny_parts
    engine = TransformersEngine(model, tokenizer, model_id="tiny-xverse", context_length=1024)
    return Studio(store, engine, StudioOptions(export_dir=tmp_path / "x", stream_interval_s=0.01,
                                               persist_interval_s=0.05))


def _book(studio: Studio):
    project = studio.library.create_project("青云志", language="zh")
    studio.library.update_project(project.id, settings={"max_new_tokens": FAST})
    studio.library.create_character(project.id, "林微", aliases=["阿微"])
    studio.library.create_character(project.id, "萧长风")
    for n in range(1, 4):
        chapter = studio.chapters.add_chapter(project.id, title=f"第{n}章")
        studio.chapters.save_chapter(chapter.id, f"第{n}章里，林微与萧长风同行。", chapter.version)
    studio.consistency.save_fact(project.id, "林微", "状态", "死亡", since_chapter=2)
    studio.consistency.save_glossary_term(project.id, "曲率引擎", ["曲速引擎"])
    return project, studio.chapters.list_chapters(project.id)


def test_check_passage_chapter_and_branch(studio):
    project, chapters = _book(studio)
    report = studio.consistency.check_passage(project.id, "林微说道：“走。”曲速引擎响了。", chapters[2].id)
    assert [(f.kind, f.span.quote) for f in report.findings] == [("dead_character_acts", "林微说"),
                                                                 ("glossary_variant", "曲速引擎")]
    assert report.chapter == 3 and not report.model_checked
    assert studio.consistency.check_passage(project.id, "林微说道：“走。”", chapters[0].id).findings == ()
    assert studio.consistency.check_chapter(chapters[0].id).findings == ()
    modelled = studio.consistency.check_passage(project.id, "萧长风点头。", chapters[2].id, use_model=True)
    assert modelled.model_checked


def test_branch_with_a_planted_wrong_name_ranks_below_its_clean_twin(studio):
    project, chapters = _book(studio)
    generation = studio.branches.branch(chapters[0].id, 3, seed=7)
    list(generation.updates())
    ids = generation.passage_ids
    studio._core.store.update_passage(ids[0], text="萧长风推开门，林薇跟了进来。")
    studio._core.store.update_passage(ids[1], text="萧长风推开门，林微跟了进来。")
    ranked = studio.consistency.rank_branch_group(ids[2])
    assert sorted(r.passage_id for r in ranked) == sorted(ids)  # nothing hidden or dropped
    order = [r.passage_id for r in ranked]
    assert order.index(ids[1]) < order.index(ids[0])
    wrong = next(r for r in ranked if r.passage_id == ids[0])
    assert "name_near_miss" in wrong.reasons and wrong.consistency < 0
    assert all(r.mean_logprob is not None and r.mean_logprob < 0 for r in ranked)
    assert [r.passage_id for r in studio.consistency.rank_latest_branches(chapters[0].id)] == order


def test_editor_and_lore_import(studio):
    project, _ = _book(studio)
    studio.library.create_lore_entry(project.id, title="规则", content="萧长风 · 境界 · 金丹（第2章起）\n青冥剑 ≠ 青冥刀\n坏 · 行 · 值 · 多")
    result = studio.consistency.import_facts_from_lore(project.id)
    assert (result.facts, result.glossary, [c for c, _ in result.problems]) == (1, 1, ["fact_parts"])
    assert studio.consistency.import_facts_from_lore(project.id).facts == 0  # once each
    fact = studio.consistency.list_facts(project.id)[-1]
    assert (fact.subject, fact.attribute, fact.value, fact.since_chapter) == ("萧长风", "rank", "金丹", 2)
    with pytest.raises(InvalidInput):
        studio.consistency.save_fact(project.id, "萧长风", "", "金丹")
    studio.consistency.delete_fact(fact.id)
    assert [f.subject for f in studio.consistency.list_facts(project.id)] == ["林微"]
