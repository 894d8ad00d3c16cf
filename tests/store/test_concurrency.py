"""Several connections at once: stale saves across stores, and writers in threads never collide."""

from __future__ import annotations

import threading

import pytest

from story_store import ConflictError, Store


def test_stale_save_from_another_store_is_refused(store_url: str) -> None:
    with Store(store_url) as tab_a, Store(store_url) as tab_b:
        project = tab_a.create_project("p")
        chapter = tab_a.create_chapter(project.id, "c", text="base")
        seen_by_b = tab_b.get_chapter(chapter.id)
        tab_a.save_chapter_text(chapter.id, "saved by A", seen_by_b.version)
        with pytest.raises(ConflictError):
            tab_b.save_chapter_text(chapter.id, "saved by B", seen_by_b.version)
        assert tab_b.get_chapter(chapter.id).text == "saved by A"


def test_racing_saves_on_one_version_let_exactly_one_win(store: Store) -> None:
    project = store.create_project("p")
    chapter = store.create_chapter(project.id, "c", text="base")
    outcomes: list[str] = []
    start = threading.Barrier(4)

    def save(n: int) -> None:
        start.wait()
        try:
            store.save_chapter_text(chapter.id, f"text {n}", 1)
            outcomes.append("saved")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=save, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["saved"]
    assert [r.version for r in store.list_revisions(chapter.id)] == [2, 1]


def test_threads_reading_then_writing_do_not_fail(store: Store) -> None:
    """Read-then-write calls from many threads (as in a Gradio server) all succeed."""
    project = store.create_project("p")
    passage = store.create_passage(project.id, status="streaming")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            chapter = store.create_chapter(project.id, f"c{n}")
            for i in range(10):
                store.create_character(project.id, f"char {n}-{i}")
                store.save_chapter_text(chapter.id, f"draft {i}", i)
                store.update_passage(passage.id, text=f"{n}:{i}")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.list_characters(project.id)) == 40
    assert sorted(c.ordinal for c in store.list_chapters(project.id)) == [1, 2, 3, 4]
    assert all(c.version == 10 for c in store.list_chapters(project.id))
