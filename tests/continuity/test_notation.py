"""The fact/glossary/ladder notation and its import from lore entries."""

from __future__ import annotations

from app.continuity import NotationProblem, import_from_lore, parse_fact, parse_glossary, parse_lines


def test_fact_lines_in_both_languages():
    zh = parse_fact("林微 · 状态 · 死亡（第12章起）")
    en = parse_fact("Mara | status | dead (since chapter 12)")
    assert (zh.subject, zh.attribute, zh.value, zh.since_chapter) == ("林微", "status", "dead", 12)
    assert (en.subject, en.attribute, en.value, en.since_chapter) == ("Mara", "status", "dead", 12)
    owner = parse_fact("青冥剑 · 主人 · 林微")
    assert (owner.attribute, owner.value, owner.since_chapter) == ("owner", "林微", None)
    custom = parse_fact("Mara · favourite colour · green (ch. 3)")
    assert (custom.attribute, custom.value, custom.since_chapter) == ("favourite colour", "green", 3)


def test_unreadable_fact_lines_are_problem_codes_not_guesses():
    problem = parse_fact("林微 · 状态")
    assert isinstance(problem, NotationProblem) and problem.code == "fact_parts"
    imported = parse_lines(["a · b · c · d", "青云宗在东方。"], "fact", 7)
    assert [p.code for p in imported.problems] == ["fact_parts"] and imported.facts == ()


def test_glossary_and_ladders():
    term = parse_glossary("曲率引擎 ≠ 曲速引擎、曲速驱动")
    assert (term.canonical, term.variants) == ("曲率引擎", ("曲速引擎", "曲速驱动"))
    imported = parse_lines(["rank: Novice < Adept < Master", "warp engine != warp drive, warpdrive"], "lore", 3)
    assert imported.rank_scales[0].levels == ("Novice", "Adept", "Master")
    assert imported.glossary[0].variants == ("warp drive", "warpdrive") and imported.glossary[0].evidence.source_id == 3


def test_import_from_lore_reads_enabled_entries_only(store):
    project = store.create_project("Book")
    on = store.create_lore_entry(project.id, title="规则", content="林微 · 状态 · 死亡（第12章起）\n散文一段。")
    store.create_lore_entry(project.id, title="关", content="苏婉 · 状态 · 死亡（第3章起）", enabled=False)
    imported = import_from_lore(store.list_lore_entries(project.id))
    assert [(f.subject, f.evidence.source, f.evidence.source_id) for f in imported.facts] == [("林微", "lore", on.id)]
