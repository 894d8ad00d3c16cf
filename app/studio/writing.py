"""Writing a chapter with the model: draft from the outline, continue, brainstorm, summarize.

Each method checks its inputs and prepares the request eagerly (a bad id or a missing model raises a
StudioError at call time), creates the passage (status "streaming") and returns its `Generation`.
At the end of the stream:
- draft/continue: the text is appended to the chapter as a new revision (source "ai"), the passage is
  marked accepted and the final update carries the chapter. If the writer saved the chapter meanwhile,
  nothing is overwritten: the final update says so and the passage waits in Branches for
  `branches.accept_passage`. After `Generation.stop()` the text streamed so far is added the same way
  (reason "cancelled"); an abandoned generation leaves the chapter alone (passage status "cancelled");
- summarize: stores the summary on the chapter (stop/length only);
- brainstorm: keeps the list as a passage only.
"""

from __future__ import annotations

from app.memory.plan import ContextPlan
from app.studio.context import prepare_prompt
from app.studio.core import StudioCore
from app.studio.errors import InvalidInput, SaveConflict, StudioError
from messages import Message
from app.studio.generation import Generation
from app.studio.recipe import passage_records, prepare_generation
from app.studio.runs import Snapshot
from app.studio.store_seam import store_errors, translates_store_errors
from app.studio.story import join_passage, latest_accepted
from story_store.records import ChapterRecord

PREVIEWABLE = ("draft", "continue", "brainstorm", "summary")


@translates_store_errors
class WritingService:
    def __init__(self, core: StudioCore) -> None:
        self._core = core

    def draft_chapter(self, chapter_id: int, seed: int | None = None) -> Generation:
        return self._generate(chapter_id, "draft", seed)

    def continue_chapter(self, chapter_id: int, seed: int | None = None) -> Generation:
        return self._generate(chapter_id, "continue", seed)

    def brainstorm(self, chapter_id: int, seed: int | None = None) -> Generation:
        return self._generate(chapter_id, "brainstorm", seed)

    def summarize_chapter(self, chapter_id: int, seed: int | None = None) -> Generation:
        """Stream a summary; the final text becomes the chapter's summary (editable afterwards)."""
        return self._generate(chapter_id, "summary", seed)

    def preview_context(self, chapter_id: int, task: str) -> ContextPlan:
        """The ContextPlan the next `task` request for this chapter would send (nothing generated)."""
        chapter, project = self._core.chapter_and_project(chapter_id)
        template = {"branch": "continue"}.get(task, task)
        if template not in PREVIEWABLE:
            raise InvalidInput("writing.no_preview", task=task)
        max_new = self._core.max_new_tokens(project, task)
        return prepare_prompt(self._core, project, template, chapter=chapter, max_new_tokens=max_new,
                              remember=False).plan

    def last_context(self) -> ContextPlan | None:
        """The ContextPlan of the most recent generation request (None before the first)."""
        return self._core.last_plan

    def _generate(self, chapter_id: int, task: str, seed: int | None) -> Generation:
        core = self._core
        chapter, project = core.chapter_and_project(chapter_id)
        if task == "summary" and not chapter.text.strip():
            raise InvalidInput("writing.nothing_to_summarize")
        prepared = prepare_generation(core, project, task, chapter=chapter, seed=seed)
        parent = latest_accepted(core.store.list_passages(project.id, chapter.id))
        records = passage_records(core, prepared, chapter, task=task, parent_id=parent.id if parent else None)
        return core.start(prepared.request, records,
                          lambda final, ids: finish_chapter_task(core, task, chapter, final, ids[0]))


def finish_chapter_task(core: StudioCore, task: str, chapter: ChapterRecord, final: Snapshot,
                        passage_id: int) -> tuple[ChapterRecord | None, str]:
    """The finishing step of a chapter generation (see the module docstring)."""
    text, reason = final.texts[0], final.reasons[0]
    if task == "summary" and reason in ("stop", "length") and text.strip():
        return _store_summary(core, chapter, text.strip())
    if task not in ("draft", "continue") or reason == "error" or not text.strip():
        return None, ""
    try:
        with store_errors():
            saved = core.store.save_chapter_text(chapter.id, join_passage(chapter.text, text, task),
                                                 chapter.version, source="ai")
    except SaveConflict:
        return None, Message("writing.saved_elsewhere")
    except StudioError as exc:
        return None, Message("writing.not_added", detail=exc.message)
    core.store.set_passage_accepted(passage_id)
    if task == "draft" and saved.status == "outline":
        saved = core.store.update_chapter_meta(chapter.id, status="draft", source="ai")
    return saved, ""


def _store_summary(core: StudioCore, chapter: ChapterRecord, summary: str) -> tuple[ChapterRecord | None, str]:
    """The generated summary replaces the one the generation started from; if the writer saved the
    summary meanwhile, theirs stays (the model's text is kept in its passage)."""
    try:
        with store_errors():
            return core.store.update_chapter_meta(chapter.id, base_version=chapter.summary_version,
                                                  source="ai", summary=summary), ""
    except SaveConflict:
        return None, Message("writing.summary_saved_elsewhere")
