"""Writing a chapter with the model: draft from the outline, continue, brainstorm, summarize.

Each public method checks its inputs and builds the prompt eagerly (so a bad id or a missing model
raises a StudioError at call time), then returns a generator of `GenerationUpdate`s. The generator
creates the passage (status "streaming"), streams into it, and at the end:
- draft/continue: appends the text to the chapter as a new revision (source "ai"), marks the passage
  accepted and returns the chapter on the final update. If the writer saved the chapter meanwhile,
  nothing is overwritten: the final update says so and the passage waits in Branches for
  `accept_passage`. Stopped with `Studio.cancel(run_id)`, the text streamed so far is added the
  same way (what the writer saw; reason "cancelled"). A generator closed early (closed tab) leaves
  the chapter alone and keeps the streamed text in its passage (status "cancelled");
- summarize: stores the summary on the chapter (stop/length only);
- brainstorm: keeps the list as a passage only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from app.studio.context import PreparedPrompt, prepare_prompt
from app.studio.core import GenerationUpdate, StudioCore
from app.studio.errors import InvalidInput, SaveConflict, StudioError
from app.studio.sinks import PassageSink
from app.studio.streaming import Snapshot
from story_store.records import ChapterRecord, PassageRecord, ProjectRecord

STORY_TASKS = ("draft", "continue", "branch")  # passages whose text belongs in the chapter


def join_passage(chapter_text: str, passage_text: str, task: str) -> str:
    """The chapter text with a passage appended: a draft starts a new paragraph, the rest continue."""
    if not chapter_text.strip():
        return passage_text.lstrip("\n")
    if task == "draft" and not chapter_text.endswith("\n") and not passage_text.startswith("\n"):
        return f"{chapter_text}\n\n{passage_text}"
    return chapter_text + passage_text


def latest_accepted(passages: list[PassageRecord]) -> PassageRecord | None:
    """The passage the story currently continues from (most recently accepted story passage)."""
    accepted = [p for p in passages if p.accepted and p.task in STORY_TASKS]
    return max(accepted, key=lambda p: (p.updated_at, p.id), default=None)


class WritingMixin:
    _core: StudioCore

    def draft_chapter(self, chapter_id: int, seed: int | None = None) -> Iterator[GenerationUpdate]:
        return self._generate_for_chapter(chapter_id, "draft", seed)

    def continue_chapter(self, chapter_id: int, seed: int | None = None) -> Iterator[GenerationUpdate]:
        return self._generate_for_chapter(chapter_id, "continue", seed)

    def brainstorm(self, chapter_id: int, seed: int | None = None) -> Iterator[GenerationUpdate]:
        return self._generate_for_chapter(chapter_id, "brainstorm", seed)

    def summarize_chapter(self, chapter_id: int, seed: int | None = None) -> Iterator[GenerationUpdate]:
        """Stream a summary; the final text becomes the chapter's summary (editable afterwards)."""
        return self._generate_for_chapter(chapter_id, "summary", seed)

    def preview_context(self, chapter_id: int, task: str):
        """The ContextPlan the next `task` request for this chapter would send (nothing generated)."""
        chapter, project = self._chapter_and_project(chapter_id)
        template = {"branch": "continue"}.get(task, task)
        if template not in ("draft", "continue", "brainstorm", "summary"):
            raise InvalidInput(f"The context can be previewed for draft, continue, branch, brainstorm or summary, not {task!r}.")
        max_new = self._core.max_new_tokens(project, task)
        return prepare_prompt(self._core, project, template, chapter=chapter, max_new_tokens=max_new,
                              remember=False).plan

    def last_context(self):
        """The ContextPlan of the most recent generation request (None before the first)."""
        return self._core.last_plan

    # --- shared plumbing -------------------------------------------------------------------------
    def _chapter_and_project(self, chapter_id: int) -> tuple[ChapterRecord, ProjectRecord]:
        chapter = self._core.store.get_chapter(chapter_id)
        if chapter.deleted_at is not None:
            raise InvalidInput("This chapter is in the trash; restore it before writing in it.")
        return chapter, self._core.store.get_project(chapter.project_id)

    def _generate_for_chapter(self, chapter_id: int, task: str, seed: int | None) -> Iterator[GenerationUpdate]:
        chapter, project = self._chapter_and_project(chapter_id)
        if task == "summary" and not chapter.text.strip():
            raise InvalidInput("This chapter has no text yet; there is nothing to summarize.")
        self._core.require_model()
        max_new = self._core.max_new_tokens(project, task)
        prepared = prepare_prompt(self._core, project, task, chapter=chapter, max_new_tokens=max_new)
        seed = self._core.new_seed(seed)
        parent = latest_accepted(self._core.store.list_passages(project.id, chapter.id))
        return self._stream_passages(project, chapter, prepared, task=task, n=1, seed=seed,
                                     parent_id=parent.id if parent else None, max_new_tokens=max_new)

    def _stream_passages(self, project: ProjectRecord, chapter: ChapterRecord, prepared: PreparedPrompt, *,
                         task: str, n: int, seed: int, parent_id: int | None, max_new_tokens: int,
                         first_branch_index: int = 0, append: bool = True) -> Iterator[GenerationUpdate]:
        """Create the passages, stream into them, then run the task's finishing step.

        `append=False` keeps a draft/continue passage out of the chapter (an alternative to accept)."""
        core = self._core
        begun_at = core.cancel_epoch
        sampling = core.sampling_for(project)
        request = core.make_request(prepared.prompt, prepared.stop, n=n, max_new_tokens=max_new_tokens,
                                    sampling=sampling, seed=seed)
        recorded = {**dataclasses.asdict(sampling), "max_new_tokens": max_new_tokens, "n": n}
        model_id = core.engine.info().model_id
        ids = tuple(
            core.store.create_passage(
                project.id, chapter_id=chapter.id, parent_id=parent_id, origin="ai", task=task,
                model_id=model_id, sampling=recorded, seed=seed, prompt_hash=prepared.prompt_hash,
                branch_index=first_branch_index + i, status="streaming",
            ).id
            for i in range(n)
        )
        finishing_task = task if append else "alternative"
        finalize = lambda final: self._finish_chapter_task(finishing_task, chapter, ids, final)  # noqa: E731
        yield from core.stream(request, PassageSink(core.store, ids), ids, finalize, begun_at=begun_at)

    def _finish_chapter_task(self, task: str, chapter: ChapterRecord, ids: tuple[int, ...],
                             final: Snapshot) -> tuple[ChapterRecord | None, str]:
        text, reason = final.texts[0], final.reasons[0]
        if task == "summary" and reason in ("stop", "length") and text.strip():
            return self._core.store.update_chapter_meta(chapter.id, summary=text.strip()), ""
        if task not in ("draft", "continue") or reason == "error" or not text.strip():
            return None, ""
        try:
            saved = self._core.store.save_chapter_text(chapter.id, join_passage(chapter.text, text, task),
                                                      chapter.version, source="ai")
        except SaveConflict:
            return None, ("The chapter was saved elsewhere while the model was writing, so the new text was "
                          "not added to it; it is kept in Branches, where you can accept it.")
        except StudioError as exc:
            return None, f"The new text is kept in Branches but could not be added to the chapter: {exc}"
        self._core.store.set_passage_accepted(ids[0])
        if task == "draft" and saved.status == "outline":
            saved = self._core.store.update_chapter_meta(chapter.id, status="draft")
        return saved, ""
