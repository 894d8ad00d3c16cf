"""The continuity tables in a real SQLite store: glossary, facts, lore reveals, chat cutoffs."""

from __future__ import annotations

import pytest

from story_store import Store, ValidationError


def test_glossary_terms_round_trip_and_trash(store):
    project = store.create_project("书")
    term = store.create_glossary_term(project.id, "曲率引擎", variants=["曲速引擎", " 曲速引擎 ", "曲速驱动"])
    assert term.variants == ["曲速引擎", "曲速驱动"]
    store.update_glossary_term(term.id, note="科幻设定")
    store.delete_glossary_term(term.id)
    assert store.list_glossary_terms(project.id) == []
    store.restore_glossary_term(term.id)
    assert [t.note for t in store.list_glossary_terms(project.id)] == ["科幻设定"]


def test_story_facts_round_trip(store):
    project = store.create_project("书")
    fact = store.create_story_fact(project.id, "林微", "状态", "死亡", since_chapter=12)
    assert (fact.subject, fact.since_chapter) == ("林微", 12)
    assert store.update_story_fact(fact.id, since_chapter=None).since_chapter is None
    assert [f.id for f in store.list_story_facts(project.id)] == [fact.id]


@pytest.mark.parametrize("call", [
    lambda s, p: s.create_glossary_term(p, " "),
    lambda s, p: s.create_glossary_term(p, "术语", variants=["术语"]),
    lambda s, p: s.create_glossary_term(p, "术语", variants=[""]),
    lambda s, p: s.create_story_fact(p, "林微", "", "死亡"),
    lambda s, p: s.create_story_fact(p, "林微", "状态", "死亡", since_chapter=0),
    lambda s, p: s.create_story_fact(p, "林微", "状态", "死亡", colour="red"),
])
def test_bad_input_is_refused_and_nothing_is_written(store, call):
    project = store.create_project("书")
    with pytest.raises(ValidationError):
        call(store, project.id)
    assert store.list_glossary_terms(project.id) == [] and store.list_story_facts(project.id) == []


def test_lore_reveals_and_chat_cutoffs_persist_across_reopen(tmp_path):
    url = f"sqlite:///{tmp_path / 'book.db'}"
    with Store(url) as store:
        project = store.create_project("书")
        entry = store.create_lore_entry(project.id, title="真相", content="林微是魔尊之女。")
        chat = store.create_chat_session(project.id)
        store.set_lore_reveal(entry.id, 30)
        store.set_chat_cutoff(chat.id, 10)
        with pytest.raises(ValidationError):
            store.set_chat_cutoff(chat.id, -1)
    with Store(url) as store:
        assert store.list_lore_reveals(project.id) == {entry.id: 30}
        assert store.get_chat_cutoff(chat.id) == 10
        store.set_chat_cutoff(chat.id, None)
        store.set_lore_reveal(entry.id, None)
        assert store.get_chat_cutoff(chat.id) is None and store.list_lore_reveals(project.id) == {}


@pytest.mark.parametrize(("call", "english", "chinese"), [
    (lambda s, p: s.create_glossary_term(p, " "), "needs a canonical", "术语的规范写法不能为空"),
    (lambda s, p: s.create_glossary_term(p, "术语", variants=["术语"]), "differ", "不能与术语本身相同"),
    (lambda s, p: s.create_glossary_term(p, "术语", variants=[" "]), "empty", "错误写法不能留空"),
    (lambda s, p: s.create_story_fact(p, "林微", "", "死亡"), "needs a attribute", "事实的属性不能为空"),
])
def test_refusals_are_rendered_in_the_writers_language(store, call, english, chinese):
    with pytest.raises(ValidationError, match=english) as refused:
        call(store, store.create_project("书").id)
    assert chinese in refused.value.render("zh")
