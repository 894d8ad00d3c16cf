"""Stored records → StoryFacts; branch scores; the "as of chapter N" filters."""

from __future__ import annotations

from app.continuity import (chapters_as_of, check_passage, facts_for_project, facts_records_as_of, lore_as_of,
                            rank_branches, score_branches)


def _project(store):
    project = store.create_project("书")
    store.create_character(project.id, "林微", aliases=["阿微"])
    store.create_character(project.id, "萧长风")
    store.create_lore_entry(project.id, title="剑", keys=["青冥剑"], content="青冥剑 · 主人 · 林微（第5章起）")
    store.create_glossary_term(project.id, "曲率引擎", variants=["曲速引擎"])
    store.create_story_fact(project.id, "林微", "状态", "死亡", since_chapter=12)
    store.create_story_fact(project.id, "境界", "rank_scale", "炼气 < 筑基 < 金丹")
    store.create_story_fact(project.id, "萧长风", "境界", "金丹", since_chapter=20)
    return project


def _facts(store, project):
    return facts_for_project("zh", characters=store.list_characters(project.id),
                             lore_entries=store.list_lore_entries(project.id),
                             glossary=store.list_glossary_terms(project.id), facts=store.list_story_facts(project.id))


def test_every_stored_source_reaches_the_checker(store):
    project = _project(store)
    facts = _facts(store, project)
    passage = "林薇说道。曲速引擎响了。萧长风不过是筑基修士。萧长风拔出青冥剑。"
    kinds = [(f.kind, f.evidence.source) for f in check_passage(passage, facts, 30)]
    assert kinds == [("name_near_miss", "character"), ("glossary_variant", "glossary"),
                     ("rank_regression", "fact"), ("owner_mismatch", "lore")]


def test_a_branch_with_a_wrong_name_ranks_below_its_clean_twin_and_none_is_dropped(store):
    project = _project(store)
    facts = _facts(store, project)
    texts = ["萧长风推开门，林薇跟在后面。", "萧长风推开门，阿微跟在后面。", "萧长风推开门。"]
    scores = score_branches(texts, facts, chapter=5, mean_logprobs=[-2.0, -2.0, -2.5])
    ranked = rank_branches(scores)
    assert sorted(s.index for s in ranked) == [0, 1, 2]
    assert [s.index for s in ranked] == [1, 2, 0]
    assert ranked[-1].reasons == ("name_near_miss",) and ranked[-1].consistency < 0 == ranked[0].consistency


def test_cutoff_filters(store):
    project = _project(store)
    for n in (1, 2, 3):
        store.create_chapter(project.id, title=f"第{n}章")
    chapters = store.list_chapters(project.id)
    entries = store.list_lore_entries(project.id)
    store.set_lore_reveal(entries[0].id, 3)
    reveals = store.list_lore_reveals(project.id)
    assert [c.ordinal for c in chapters_as_of(chapters, 2)] == [1, 2]
    assert chapters_as_of(chapters, None) == chapters
    assert lore_as_of(entries, reveals, 2) == [] and lore_as_of(entries, reveals, 3) == entries
    facts = store.list_story_facts(project.id)
    assert [f.subject for f in facts_records_as_of(facts, 12)] == ["林微", "境界"]


def test_a_ladder_stated_under_its_chinese_name_orders_ranks(store):
    project = store.create_project("书")
    store.create_character(project.id, "萧长风")
    store.create_story_fact(project.id, "境界", "等级阶梯", "炼气 < 筑基 < 金丹")
    store.create_story_fact(project.id, "萧长风", "境界", "金丹", since_chapter=20)
    facts = facts_for_project("zh", characters=store.list_characters(project.id), lore_entries=[],
                              facts=store.list_story_facts(project.id))
    assert [s.levels for s in facts.rank_scales] == [("炼气", "筑基", "金丹")]
    assert [f.kind for f in check_passage("萧长风不过是筑基修士。", facts, 30)] == ["rank_regression"]
