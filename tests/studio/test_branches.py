"""Branches: n siblings from one request, accept one (preferences), regenerate, close mid-stream."""

from __future__ import annotations

import pytest

from app.studio import InvalidInput, SaveConflict, Studio
from studio_helpers import drain, new_project


def _chapter_with_text(studio: Studio, **settings):
    project = new_project(studio, **settings)
    chapter = studio.chapters.add_chapter(project.id, title="夜雨", outline="林凡上山。")
    return project, studio.chapters.save_chapter(chapter.id, "雨夜，林凡站在山门前。", base_version=0)


@pytest.mark.slow
def test_three_branches_accept_one_records_two_preferences(studio: Studio, store):
    project, chapter = _chapter_with_text(studio)
    updates, final = drain(studio.branches.branch(chapter.id, 3, seed=21))
    assert all(len(u.texts) == 3 and len(u.passage_ids) == 3 for u in updates)
    passages = [store.get_passage(i) for i in final.passage_ids]
    assert [p.text for p in passages] == list(final.texts)
    assert len({p.text for p in passages}) == 3, "branches must diverge"
    assert [p.branch_index for p in passages] == [0, 1, 2]
    assert {(p.task, p.seed, p.parent_id, p.status, p.sampling["n"]) for p in passages} == {("branch", 21, None, "done", 3)}
    assert [p.id for p in studio.branches.list_branches(chapter.id)[0]] == list(final.passage_ids)

    chosen, *rejected = passages
    accepted = studio.branches.accept_passage(chosen.id, base_version=chapter.version)
    assert accepted.text == chapter.text + chosen.text and accepted.version == chapter.version + 1
    assert studio.chapters.list_revisions(chapter.id)[0].source == "ai"
    assert store.get_passage(chosen.id).accepted
    assert all(not store.get_passage(p.id).accepted and store.get_passage(p.id).text == p.text for p in rejected)
    preferences = store.list_preferences(project.id)
    assert sorted((p.chosen_passage_id, p.rejected_passage_id) for p in preferences) == \
        sorted((chosen.id, p.id) for p in rejected)
    assert {p.prompt for p in preferences} == {studio.writing.last_context().render()}  # the branches' prompt

    # a later branch request continues from the accepted passage; the old siblings stay revisitable
    _, later = drain(studio.branches.branch(chapter.id, 2, seed=22))
    assert {store.get_passage(i).parent_id for i in later.passage_ids} == {chosen.id}
    assert [len(g) for g in studio.branches.list_branches(chapter.id)] == [2, 3]


def test_regenerate_adds_a_sibling(studio: Studio, store):
    _, chapter = _chapter_with_text(studio)
    _, first = drain(studio.branches.branch(chapter.id, 2, seed=5))
    _, again = drain(studio.branches.regenerate_branch(first.passage_ids[1], seed=6))
    (new_id,) = again.passage_ids
    new = store.get_passage(new_id)
    assert new.parent_id is None and new.task == "branch" and new.branch_index == 2 and new.seed == 6
    assert [p.id for p in studio.branches.list_branches(chapter.id)[0]] == [*first.passage_ids, new_id]
    assert studio.chapters.get_chapter(chapter.id).version == chapter.version  # regenerating never edits the chapter


def test_stale_accept_is_refused_and_changes_nothing(studio: Studio, store):
    project, chapter = _chapter_with_text(studio)
    _, final = drain(studio.branches.branch(chapter.id, 2, seed=8))
    newer = studio.chapters.save_chapter(chapter.id, chapter.text + "他敲了敲门。", base_version=chapter.version)
    with pytest.raises(SaveConflict) as caught:
        studio.branches.accept_passage(final.passage_ids[0], base_version=chapter.version)
    assert caught.value.current_version == newer.version
    assert studio.chapters.get_chapter(chapter.id).text == newer.text
    assert not store.get_passage(final.passage_ids[0]).accepted and store.list_preferences(project.id) == []


def test_closing_a_branch_stream_keeps_every_partial_text(studio: Studio, store):
    _, chapter = _chapter_with_text(studio, max_new_tokens={"branch": 600})
    stream = studio.branches.branch(chapter.id, 2, seed=13).updates()
    seen = next(u for u in stream if all(u.texts))
    stream.close()
    for passage_id, text in zip(seen.passage_ids, seen.texts):
        passage = store.get_passage(passage_id)
        assert passage.status == "cancelled" and passage.finish_reason == "cancelled"
        assert passage.text.startswith(text)
    assert studio.chapters.get_chapter(chapter.id).version == chapter.version


@pytest.mark.parametrize("n", [0, 1, 5, True, "3"])
def test_branch_count_is_checked(studio: Studio, n):
    _, chapter = _chapter_with_text(studio)
    with pytest.raises(InvalidInput):
        studio.branches.branch(chapter.id, n)


def test_accepting_twice_or_an_empty_passage_is_refused(studio: Studio, store):
    project, chapter = _chapter_with_text(studio)
    _, final = drain(studio.branches.branch(chapter.id, 2, seed=1))
    saved = studio.branches.accept_passage(final.passage_ids[0], base_version=chapter.version)
    with pytest.raises(InvalidInput, match="already"):
        studio.branches.accept_passage(final.passage_ids[0], base_version=saved.version)
    empty = store.create_passage(project.id, chapter_id=chapter.id, task="branch", text="")
    with pytest.raises(InvalidInput, match="empty"):
        studio.branches.accept_passage(empty.id, base_version=saved.version)
    assert studio.chapters.get_chapter(chapter.id).version == saved.version


def _drafted(studio: Studio, store, seed: int = 11):
    project = new_project(studio)
    chapter = studio.chapters.add_chapter(project.id, title="夜雨", outline="林凡在雨夜上山，遇见守门的老人。")
    _, final = drain(studio.writing.draft_chapter(chapter.id, seed=seed))
    draft = store.get_passage(final.passage_ids[0])
    assert draft.accepted and draft.text.strip() and final.chapter is not None
    return chapter, draft, final.chapter


def test_regenerating_a_draft_is_an_alternative_from_the_same_prompt(studio: Studio, store):
    chapter, draft, drafted = _drafted(studio, store)
    _, again = drain(studio.branches.regenerate_branch(draft.id, seed=12))
    new = store.get_passage(again.passage_ids[0])
    assert again.chapter is None and not new.accepted and new.task == "draft" and new.parent_id == draft.parent_id
    assert studio.chapters.get_chapter(chapter.id).text == drafted.text and studio.chapters.get_chapter(chapter.id).version == 1
    assert new.prompt_hash == draft.prompt_hash  # built from the chapter before the draft was added
    assert draft.text.strip() not in studio.writing.last_context().render()


def test_accepting_a_sibling_swaps_out_the_accepted_one(studio: Studio, store):
    chapter, draft, drafted = _drafted(studio, store)
    _, again = drain(studio.branches.regenerate_branch(draft.id, seed=12))
    new = store.get_passage(again.passage_ids[0])
    swapped = studio.branches.accept_passage(new.id, base_version=drafted.version, chapter_id=chapter.id)
    assert swapped.text == new.text.lstrip("\n") and swapped.version == drafted.version + 1
    assert store.get_passage(new.id).accepted and not store.get_passage(draft.id).accepted
    prefs = store.list_preferences(drafted.project_id)
    assert [(p.chosen_passage_id, p.rejected_passage_id) for p in prefs] == [(new.id, draft.id)]

    edited = studio.chapters.save_chapter(chapter.id, swapped.text + "他推门而入。", base_version=swapped.version)
    with pytest.raises(InvalidInput, match="by hand"):
        studio.branches.accept_passage(draft.id, base_version=edited.version)
    assert studio.chapters.get_chapter(chapter.id).text == edited.text and not store.get_passage(draft.id).accepted


def test_accept_and_restore_refuse_another_chapters_items(studio: Studio, store):
    project, chapter = _chapter_with_text(studio)
    other = studio.chapters.add_chapter(project.id, title="别处")
    passage = store.create_passage(project.id, chapter_id=chapter.id, task="branch", text="他走了进去。")
    with pytest.raises(InvalidInput, match="another chapter"):
        studio.branches.accept_passage(passage.id, base_version=chapter.version, chapter_id=other.id)
    (revision,) = studio.chapters.list_revisions(chapter.id)
    with pytest.raises(InvalidInput, match="another chapter"):
        studio.chapters.restore_revision(revision.id, base_version=0, chapter_id=other.id)
    assert studio.chapters.get_chapter(chapter.id).version == chapter.version and studio.chapters.get_chapter(other.id).version == 0
    assert not store.get_passage(passage.id).accepted
