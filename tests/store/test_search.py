"""Search on a real SQLite file: FTS5 trigram for Chinese and English, LIKE fallback, escaping."""

from __future__ import annotations

import pytest

from story_store import Store, ValidationError

PASSAGE_COUNT = 10_000


def _passage_text(i: int) -> str:
    parts = [f"第{i}段。风从山谷吹来。"]
    if i % 10 == 0:
        parts.append("青云门的弟子在山门前列队。")
    if i % 25 == 0:
        parts.append("A Dragon circled the tower.")
    if i % 50 == 0:
        parts.append("林风握紧了剑。")
    return "".join(parts)


@pytest.fixture(scope="module")
def big_store(module_store_url: str):
    """10,000 passages (half of them in one chapter), on each backend."""
    store = Store(module_store_url)
    project = store.create_project("大书")
    chapter = store.create_chapter(project.id, "第一章 青云门", text="序章。")
    rows = [{"text": _passage_text(i), "chapter_id": chapter.id if i % 2 else None}
            for i in range(PASSAGE_COUNT)]
    assert store.bulk_insert_passages(project.id, rows) == PASSAGE_COUNT
    yield store, project.id, chapter.id
    store.close()


def _kinds(hits) -> tuple[int, int]:
    return (sum(h.kind == "chapter" for h in hits), sum(h.kind == "passage" for h in hits))


def test_chinese_query_counts(big_store) -> None:
    store, project_id, _ = big_store
    assert store.has_fts == (store.dialect == "sqlite")  # PostgreSQL searches with ILIKE
    hits = store.search(project_id, "青云门", limit=100_000)
    assert _kinds(hits) == (1, PASSAGE_COUNT // 10)  # the chapter title matches too
    assert hits[0].kind == "chapter" and hits[0].title == "第一章 青云门"
    assert all("青云门" in h.snippet for h in hits[1:])


def test_english_query_is_case_insensitive(big_store) -> None:
    store, project_id, chapter_id = big_store
    hits = store.search(project_id, "dragon", limit=100_000)
    assert _kinds(hits) == (0, PASSAGE_COUNT // 25)
    # odd passages belong to the chapter: half of the multiples of 25
    assert sum(h.chapter_id == chapter_id for h in hits) == PASSAGE_COUNT // 50
    assert _kinds(store.search(project_id, "DRAGON tower", limit=100_000)) == (0, PASSAGE_COUNT // 25)


def test_words_are_anded_and_short_words_use_like(big_store) -> None:
    store, project_id, _ = big_store
    assert _kinds(store.search(project_id, "林风", limit=100_000)) == (0, PASSAGE_COUNT // 50)
    both = store.search(project_id, "青云门 dragon", limit=100_000)
    assert _kinds(both) == (0, PASSAGE_COUNT // 50)  # multiples of 10 and 25 = multiples of 50
    assert _kinds(store.search(project_id, "风 Dragon", limit=100_000)) == (0, PASSAGE_COUNT // 25)


def test_limit_and_snippet_shape(big_store) -> None:
    store, project_id, _ = big_store
    hits = store.search(project_id, "青云门")
    assert len(hits) == 20
    assert all(len(h.snippet) <= 2 * 40 + 3 + 2 for h in hits)


@pytest.mark.parametrize("query", ['"', '""', 'a"b', "*", "dragon*", "OR", "a OR b", "NOT dragon",
                                   "NEAR(dragon tower)", "(", "^dragon", "col:dragon", "-", "%", "_",
                                   "'; DROP TABLE passages; --", "AND OR NOT"])
def test_fts_syntax_in_queries_is_plain_text(big_store, query: str) -> None:
    store, project_id, _ = big_store
    store.search(project_id, query)  # must not raise
    assert len(store.search(project_id, "dragon", limit=100_000)) == PASSAGE_COUNT // 25


def test_special_characters_match_literally(store: Store) -> None:
    project = store.create_project("p")
    quoted = store.create_passage(project.id, text='She said "run" twice; 100% sure_thing*')
    store.create_passage(project.id, text="She said run; 1000 sure thing")
    for query in ('"run"', "100%", "sure_thing*", "ng*", '%', "_", '"'):
        assert [h.id for h in store.search(project.id, query)] == [quoted.id], query
    assert store.search(project.id, "   ") == []


def test_search_follows_edits_and_trash(store: Store) -> None:
    project = store.create_project("p")
    chapter = store.create_chapter(project.id, "Chapter", text="the old lighthouse")
    passage = store.create_passage(project.id, chapter_id=chapter.id, text="an old lighthouse keeper")
    other = store.create_project("q")
    store.create_passage(other.id, text="lighthouse elsewhere")
    assert _kinds(store.search(project.id, "lighthouse")) == (1, 1)
    store.save_chapter_text(chapter.id, "the new harbour", 1)
    store.update_passage(passage.id, text="a harbour master")
    assert store.search(project.id, "lighthouse") == []
    assert _kinds(store.search(project.id, "harbour")) == (1, 1)
    store.delete_chapter(chapter.id)
    assert store.search(project.id, "harbour") == []
    assert store.search(project.id, "ha") == []  # the LIKE path hides the trash too
    store.restore_chapter(chapter.id)
    assert _kinds(store.search(project.id, "ha")) == (1, 1)


def test_bad_search_input(store: Store) -> None:
    project = store.create_project("p")
    with pytest.raises(ValidationError):
        store.search(project.id, "x" * 1001)
    with pytest.raises(ValidationError):
        store.search(project.id, "abc", limit=0)


def test_single_inserts_are_indexed_after_a_bulk_insert(store: Store) -> None:
    project = store.create_project("p")
    store.bulk_insert_passages(project.id, [{"text": "bulk walrus"}] * 3)
    single = store.create_passage(project.id, text="single walrus")
    store.bulk_insert_passages(project.id, [{"text": "second bulk walrus"}])
    assert len(store.search(project.id, "walrus")) == 5
    assert [h.id for h in store.search(project.id, "single walrus")] == [single.id]
