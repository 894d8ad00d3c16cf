"""Branches: 2–4 alternative continuations from one prefill, accepted into the chapter one at a time.

Passage tree: a branch request's passages are siblings whose parent is the passage the story
currently continues from (the latest accepted story passage, or none). Regenerating adds a sibling.
Accepting appends the passage to the chapter (new revision, source "ai"), or swaps out the sibling
accepted before it while the chapter still ends with that sibling; it marks it accepted and records
one Preference per sibling (chosen = it, rejected = the sibling); nothing is deleted, so any sibling
can be revisited and accepted later. Regenerated siblings are alternatives: never added by themselves.
"""

from __future__ import annotations

import dataclasses

from app.studio.core import StudioCore
from app.studio.errors import InvalidInput
from app.studio.generation import Generation
from app.studio.recipe import passage_records, prepare_generation
from app.studio.store_seam import translates_store_errors
from app.studio.story import STORY_TASKS, join_passage, latest_accepted
from story_store.records import ChapterRecord, PassageRecord

MIN_BRANCHES, MAX_BRANCHES = 2, 4


def group_key(passage: PassageRecord) -> tuple[int | None, str]:
    """Siblings share a parent and a task (a draft is never an alternative of a continuation)."""
    return passage.parent_id, "draft" if passage.task == "draft" else "continue"


@translates_store_errors
class BranchService:
    def __init__(self, core: StudioCore) -> None:
        self._core = core

    def branch(self, chapter_id: int, n: int, seed: int | None = None) -> Generation:
        """Stream `n` (2–4) continuations side by side; each is persisted as a sibling passage."""
        if isinstance(n, bool) or not isinstance(n, int) or not MIN_BRANCHES <= n <= MAX_BRANCHES:
            raise InvalidInput(f"Ask for between {MIN_BRANCHES} and {MAX_BRANCHES} branches, not {n!r}.")
        core = self._core
        chapter, project = core.chapter_and_project(chapter_id)
        prepared = prepare_generation(core, project, "branch", template="continue", chapter=chapter, n=n, seed=seed)
        parent = latest_accepted(core.store.list_passages(project.id, chapter.id))
        return core.start(prepared.request, passage_records(core, prepared, chapter, task="branch",
                                                            parent_id=parent.id if parent else None))

    def regenerate_branch(self, passage_id: int, seed: int | None = None) -> Generation:
        """A new sibling of `passage_id`, from the prompt its siblings had; never added to the chapter.

        If a sibling is accepted and the chapter still ends with it, the prompt is built from the
        chapter without it (as it was before), so the accepted text is never in the prompt twice."""
        core = self._core
        passage = core.store.get_passage(passage_id)
        if passage.chapter_id is None or passage.task not in STORY_TASKS:
            raise InvalidInput("Only chapter branches, drafts and continuations can be regenerated.")
        chapter, project = core.chapter_and_project(passage.chapter_id)
        siblings = self._siblings(passage)
        template = "draft" if passage.task == "draft" else "continue"
        prepared = prepare_generation(core, project, passage.task, template=template,
                                      chapter=self._chapter_before(chapter, siblings), seed=seed)
        next_index = max(p.branch_index for p in siblings) + 1
        return core.start(prepared.request, passage_records(core, prepared, chapter, task=passage.task,
                                                            parent_id=passage.parent_id,
                                                            first_branch_index=next_index))

    def accept_passage(self, passage_id: int, base_version: int, chapter_id: int | None = None) -> ChapterRecord:
        """Put the passage into its chapter as one new revision (SaveConflict if past base_version).

        With no sibling accepted the passage is appended. If a sibling is accepted and the chapter
        still ends with it, that sibling is swapped out for this passage; if the chapter no longer
        ends with it, nothing changes and InvalidInput says what to do."""
        passage, own_chapter_id = self._acceptable_passage(passage_id, chapter_id)
        chapter = self._core.store.get_chapter(own_chapter_id)
        siblings = self._siblings(passage)
        replaced = [p for p in siblings if p.accepted and p.id != passage.id]
        prefix = _text_without_tail(chapter.text, replaced[-1].text) if replaced else chapter.text
        if prefix is None:
            raise InvalidInput("Another version of this passage was accepted and the chapter has been edited "
                                   "since, so it cannot be swapped automatically; edit the chapter by hand or "
                                   "accept it as new text.")
        saved = self._core.store.save_chapter_text(chapter.id, join_passage(prefix, passage.text, passage.task),
                                                  base_version, source="ai")
        for old in replaced:
            self._core.store.set_passage_accepted(old.id, False)
        self._core.store.set_passage_accepted(passage.id)
        prompt = self._core.prompt_text(passage.prompt_hash)
        for sibling in siblings:
            if sibling.id != passage.id:
                self._core.store.record_preference(passage.project_id, prompt, passage.id, sibling.id)
        return saved

    def _acceptable_passage(self, passage_id: int, chapter_id: int | None) -> tuple[PassageRecord, int]:
        """(the passage, its chapter's id) if it can be accepted into that chapter, else InvalidInput."""
        passage = self._core.store.get_passage(passage_id)
        if passage.chapter_id is None or passage.task not in STORY_TASKS:
            raise InvalidInput("Only chapter branches, drafts and continuations can be accepted into a chapter.")
        if chapter_id is not None and passage.chapter_id != chapter_id:
            raise InvalidInput("This passage belongs to another chapter; open that chapter to accept it.")
        if passage.accepted:
            raise InvalidInput("This passage is already part of the chapter.")
        if passage.status == "streaming":
            raise InvalidInput("This passage is still being written; accept it when it has finished or been stopped.")
        if not passage.text.strip():
            raise InvalidInput("This passage is empty; there is nothing to accept.")
        return passage, passage.chapter_id

    def _chapter_before(self, chapter: ChapterRecord, siblings: list[PassageRecord]) -> ChapterRecord:
        """The chapter as it was before an accepted sibling was added (itself when none is at its end)."""
        accepted = [p for p in siblings if p.accepted]
        prefix = _text_without_tail(chapter.text, accepted[-1].text) if accepted else None
        if prefix is None:
            return chapter
        older = [r for r in self._core.store.list_revisions(chapter.id) if r.text == prefix]
        version = older[0].version if older else (0 if not prefix else chapter.version)
        return dataclasses.replace(chapter, text=prefix, version=version)

    def list_branches(self, chapter_id: int) -> list[list[PassageRecord]]:
        """Groups of sibling story passages of the chapter, newest group first, each oldest first."""
        chapter = self._core.store.get_chapter(chapter_id)
        groups: dict[tuple[int | None, str], list[PassageRecord]] = {}
        for passage in self._core.store.list_passages(chapter.project_id, chapter.id):
            if passage.task in STORY_TASKS:
                groups.setdefault(group_key(passage), []).append(passage)
        ordered = [sorted(g, key=lambda p: p.id) for g in groups.values()]
        return sorted(ordered, key=lambda g: max(p.id for p in g), reverse=True)

    def _siblings(self, passage: PassageRecord) -> list[PassageRecord]:
        """The passage's group, itself included."""
        candidates = self._core.store.list_passages(passage.project_id, passage.chapter_id)
        return [p for p in candidates if p.task in STORY_TASKS and group_key(p) == group_key(passage)]


def _text_without_tail(chapter_text: str, passage_text: str) -> str | None:
    """The chapter text with `passage_text` (as `join_passage` added it) cut off its end; None if
    the chapter no longer ends with it."""
    if not passage_text.strip():
        return None
    if chapter_text.endswith(passage_text):
        return chapter_text[: len(chapter_text) - len(passage_text)]
    return "" if chapter_text == passage_text.lstrip("\n") else None  # it opened an empty chapter
