"""Draft, continue, brainstorm, summarize: passages and revisions persisted, streaming and closing."""

from __future__ import annotations

import pytest

from app.engine.unavailable import UnavailableEngine
from app.studio import InvalidInput, NoModel, NotFound, Studio

from studio_helpers import drain, new_project


def _chapter(studio, language="zh", **settings):
    project = new_project(studio, language, **settings)
    outline = "林凡在雨夜上山，遇见守门的老人。" if language == "zh" else "Lin climbs the mountain on a rainy night."
    return project, studio.chapters.add_chapter(project.id, title="夜雨" if language == "zh" else "Night Rain", outline=outline)


def test_draft_persists_a_passage_and_an_ai_revision(studio: Studio):
    project, chapter = _chapter(studio)
    updates, final = drain(studio.writing.draft_chapter(chapter.id, seed=11))
    (passage_id,) = final.passage_ids
    assert all(u.passage_ids == (passage_id,) for u in updates)
    for earlier, later in zip(updates, updates[1:]):  # each update carries the whole text so far
        assert later.texts[0].startswith(earlier.texts[0])
    passage = studio._core.store.get_passage(passage_id)
    assert passage.task == "draft" and passage.seed == 11 and passage.accepted
    assert passage.status == "done" and passage.finish_reason == final.finish_reasons[0] in ("stop", "length")
    assert passage.text == final.texts[0] and passage.text.strip()
    assert final.chapter is not None and final.chapter.version == 1 and final.chapter.status == "draft"
    assert final.chapter.text == passage.text.lstrip("\n")
    (revision,) = studio.chapters.list_revisions(chapter.id)
    assert revision.source == "ai" and revision.text == final.chapter.text


def test_continue_appends_a_new_revision(studio: Studio):
    _, chapter = _chapter(studio, "en")
    saved = studio.chapters.save_chapter(chapter.id, "Rain fell on the stone steps.", base_version=0)
    _, final = drain(studio.writing.continue_chapter(chapter.id, seed=3))
    assert final.chapter.version == saved.version + 1
    assert final.chapter.text == saved.text + final.texts[0]
    assert [r.source for r in studio.chapters.list_revisions(chapter.id)] == ["ai", "user"]


@pytest.mark.slow
def test_same_seed_same_text_and_a_picked_seed_is_recorded(studio: Studio):
    texts = []
    for _ in range(2):
        _, chapter = _chapter(studio)
        texts.append(drain(studio.writing.draft_chapter(chapter.id, seed=1234))[1].texts[0])
    assert texts[0] == texts[1]
    _, chapter = _chapter(studio)
    _, final = drain(studio.writing.draft_chapter(chapter.id))
    assert isinstance(studio._core.store.get_passage(final.passage_ids[0]).seed, int)


def test_streamed_text_is_persisted_while_streaming_and_kept_when_closed(studio: Studio):
    project, chapter = _chapter(studio, max_new_tokens={"draft": 600})
    stream = studio.writing.draft_chapter(chapter.id, seed=5).updates()
    seen = None
    for update in stream:
        passage = studio._core.store.get_passage(update.passage_ids[0])
        if passage.text and passage.status == "streaming":
            seen = update
            break
    assert seen is not None, "the passage was never persisted while it streamed"
    stream.close()  # what the UI's Stop or a closed tab does
    passage = studio._core.store.get_passage(seen.passage_ids[0])
    assert passage.status == "cancelled" and passage.finish_reason == "cancelled"
    assert passage.text.startswith(seen.texts[0]) and not passage.accepted
    assert studio.chapters.get_chapter(chapter.id).version == 0  # a closed generator leaves the chapter alone


def test_cancel_all_ends_the_stream_and_keeps_the_text(studio: Studio):
    _, chapter = _chapter(studio, max_new_tokens={"draft": 600})
    stream = studio.writing.draft_chapter(chapter.id, seed=9).updates()
    first = next(stream)
    studio.cancel_all()
    rest = list(stream)
    final = rest[-1]
    assert final.done and final.finish_reasons == ("cancelled",)
    passage = studio._core.store.get_passage(first.passage_ids[0])
    assert passage.status == "cancelled" and passage.text == final.texts[0]
    if passage.text.strip():
        assert final.chapter is not None and final.chapter.text == passage.text.lstrip("\n")


def test_a_save_during_generation_is_never_overwritten(studio: Studio):
    _, chapter = _chapter(studio)
    stream = studio.writing.draft_chapter(chapter.id, seed=2).updates()
    first = next(stream)
    mine = studio.chapters.save_chapter(chapter.id, "我自己写的开头。", base_version=0)
    final = list(stream)[-1]
    assert final.chapter is None and "saved elsewhere" in final.error
    assert studio.chapters.get_chapter(chapter.id).text == "我自己写的开头。"
    passage = studio._core.store.get_passage(first.passage_ids[0])
    assert not passage.accepted and passage.text == final.texts[0]
    accepted = studio.branches.accept_passage(passage.id, base_version=mine.version)
    assert accepted.text.startswith("我自己写的开头。") and accepted.text.endswith(passage.text)


def test_summary_is_stored_on_the_chapter_and_brainstorm_only_as_a_passage(studio: Studio):
    _, chapter = _chapter(studio)
    chapter = studio.chapters.save_chapter(chapter.id, "林凡推开山门。老人抬头看他。", base_version=0)
    _, final = drain(studio.writing.summarize_chapter(chapter.id, seed=4))
    stored = studio.chapters.get_chapter(chapter.id)
    if final.finish_reasons[0] in ("stop", "length") and final.texts[0].strip():
        assert stored.summary == final.texts[0].strip() and final.chapter == stored
    else:
        assert stored.summary == ""
    _, final = drain(studio.writing.brainstorm(chapter.id, seed=4))
    assert final.chapter is None and studio.chapters.get_chapter(chapter.id).version == chapter.version
    assert studio._core.store.get_passage(final.passage_ids[0]).task == "brainstorm"


def test_context_preview_and_last_context_respect_the_budget(studio: Studio):
    project, chapter = _chapter(studio)
    studio.library.create_character(project.id, "林凡", description="少年剑客", pinned=True)
    plan = studio.writing.preview_context(chapter.id, "draft")
    assert plan.budget == 1024 - 24 - 16 and 0 < plan.used_tokens <= plan.budget
    assert studio._core.engine.count_tokens(plan.render()) == plan.used_tokens
    assert any(item.label == "林凡" for item in plan.items("included"))
    assert studio.writing.last_context() is None  # a preview is not a request
    drain(studio.writing.draft_chapter(chapter.id, seed=1))
    assert studio.writing.last_context().render() == plan.render()


def test_bad_requests_are_refused_before_anything_is_written(studio: Studio, store, options):
    project, chapter = _chapter(studio)
    with pytest.raises(NotFound):
        studio.writing.draft_chapter(999)
    with pytest.raises(InvalidInput):
        studio.writing.summarize_chapter(chapter.id)  # no text yet
    with pytest.raises(InvalidInput):
        studio.writing.draft_chapter(chapter.id, seed=-1)
    no_model = Studio(store, UnavailableEngine("no model loaded: start with --demo"), options)
    with pytest.raises(NoModel, match="--demo"):
        no_model.writing.draft_chapter(chapter.id)
    assert store.list_passages(project.id) == [] and studio.chapters.get_chapter(chapter.id).version == 0


def test_cancel_all_also_cancels_a_generation_queued_behind_another(studio: Studio, store):
    import threading

    project, first_chapter = _chapter(studio, max_new_tokens={"draft": 600})
    second_chapter = studio.chapters.add_chapter(project.id, title="第二章", outline="雾起。")
    running = studio.writing.draft_chapter(first_chapter.id, seed=1).updates()
    first_update = next(running)
    queued_updates: list = []
    queued = threading.Thread(target=lambda: queued_updates.extend(studio.writing.draft_chapter(second_chapter.id, seed=2).updates()))
    queued.start()
    while not any(p.chapter_id == second_chapter.id for p in store.list_passages(project.id)):
        queued.join(timeout=0.01)  # wait until the second request exists (its engine call waits for the first)
    studio.cancel_all()
    running_final = list(running)[-1]
    queued.join(timeout=30)
    assert not queued.is_alive()
    assert running_final.finish_reasons == ("cancelled",) and queued_updates[-1].finish_reasons == ("cancelled",)
    for passage_id in (first_update.passage_ids[0], queued_updates[-1].passage_ids[0]):
        assert store.get_passage(passage_id).status == "cancelled"


def test_stop_ends_only_that_generation_and_keeps_what_was_seen(studio: Studio):
    from app.studio import join_passage

    _, first_chapter = _chapter(studio, max_new_tokens={"draft": 600})
    second_chapter = studio.chapters.add_chapter(new_project(studio).id, title="次日", outline="天亮了。")  # short draft
    stopped = studio.writing.draft_chapter(first_chapter.id, seed=9)
    other = studio.writing.draft_chapter(second_chapter.id, seed=4)
    assert stopped.run_id and other.run_id and stopped.run_id != other.run_id  # known before any update
    assert stopped.passage_ids and studio._core.store.get_passage(stopped.passage_ids[0]).status == "streaming"
    updates = stopped.updates()
    seen = next(u for u in updates if u.done or u.texts[0].strip())
    assert not seen.done, "the 600-token draft ended before it could be stopped"
    stopped.stop()
    final = list(updates)[-1]
    assert final.done and final.finish_reasons == ("cancelled",)
    assert final.texts[0].startswith(seen.texts[0])
    passage = studio._core.store.get_passage(final.passage_ids[0])
    assert passage.status == "cancelled" and passage.accepted and passage.text == final.texts[0]
    assert final.chapter is not None and final.chapter.text == join_passage("", final.texts[0], "draft")
    assert studio.chapters.get_chapter(first_chapter.id).text == final.chapter.text
    _, other_final = drain(other)  # the other generation was not stopped
    assert other_final.finish_reasons != ("cancelled",)


def test_an_abandoned_generation_keeps_its_text_and_leaves_the_chapter_alone(studio: Studio):
    _, chapter = _chapter(studio, max_new_tokens={"draft": 600})
    generation = studio.writing.draft_chapter(chapter.id, seed=3)
    updates = generation.updates()
    seen = next(u for u in updates if u.done or u.texts[0].strip())
    assert not seen.done
    generation.abandon()  # what a closed page does, from any thread
    assert [u for u in updates if u.done] == []  # no final update, no finishing step
    passage = studio._core.store.get_passage(generation.passage_ids[0])
    assert passage.status == "cancelled" and passage.text.startswith(seen.texts[0]) and not passage.accepted
    assert studio.chapters.get_chapter(chapter.id).version == 0
    never_streamed = studio.writing.draft_chapter(chapter.id, seed=4)
    never_streamed.abandon()
    assert studio._core.store.get_passage(never_streamed.passage_ids[0]).status == "cancelled"
    assert list(never_streamed.updates()) == []
