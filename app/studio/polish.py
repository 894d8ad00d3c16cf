"""Polish a passage with a preset or an instruction, show the diff, accept it into the chapter.

The polished text streams into a passage (origin "polish") when a chapter is named, so nothing the
model wrote is lost; a pasted passage without a chapter streams without being stored. Accepting
replaces the original passage in the chapter text as a new revision (source "ai").
"""

from __future__ import annotations

import prompts
from app.studio.context import scratch_project
from app.studio.core import RunTarget, StudioCore
from app.studio.diffing import DiffOp, diff_texts
from app.studio.errors import InvalidInput, SaveConflict
from app.studio.generation import Generation
from app.studio.recipe import passage_records, prepare_generation
from app.studio.store_seam import translates_store_errors
from story_store.records import ChapterRecord, ProjectRecord

MAX_POLISH_CHARS = 20_000
MAX_DIFF_CHARS = 200_000


class _DiscardSink:
    """For a pasted passage that belongs to no project: streamed, shown, not stored."""

    def save_partial(self, texts: tuple[str, ...]) -> None:
        return None

    def save_final(self, texts: tuple[str, ...], reasons: tuple[str, ...]) -> None:
        return None


def polish_presets(language: str) -> dict[str, str]:
    """Preset name → what it asks for, as the polish template of `language` defines them."""
    presets = prompts.constant_list(language, "polish", "presets")
    return dict(presets or {})


@translates_store_errors
class PolishService:
    def __init__(self, core: StudioCore) -> None:
        self._core = core

    def polish(self, text: str, preset: str | None, instruction: str = "", chapter_id: int | None = None,
               seed: int | None = None) -> Generation:
        """Stream a rewrite of `text`; into a passage (origin "polish") when it is from a chapter."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("Select or paste the passage to polish first.")
        if len(text) > MAX_POLISH_CHARS:
            raise InvalidInput(f"The passage has {len(text):,} characters; polish at most {MAX_POLISH_CHARS:,} at a time.")
        core = self._core
        chapter: ChapterRecord | None = None
        project: ProjectRecord
        if chapter_id is not None:
            chapter, project = core.chapter_and_project(chapter_id)
        else:
            project = scratch_project(text)
        preset, instruction = (preset or "").strip(), (instruction or "").strip()
        presets = polish_presets(project.language)
        if preset and preset not in presets:
            raise InvalidInput(f"Unknown polish preset {preset!r}; choose one of {', '.join(presets)}.")
        if not preset and not instruction:
            raise InvalidInput("Choose a preset or write an instruction for the polish.")
        values = {"passage": text, "preset": preset, "instruction": instruction}
        prepared = prepare_generation(  # a polish may not be cut short: room for twice the passage
            core, project, "polish", chapter=chapter, values=values, seed=seed,
            wanted_tokens=lambda: 2 * core.engine.count_tokens(text) + 32)
        if chapter is None:
            return core.start(prepared.request, lambda: RunTarget(_DiscardSink()))
        return core.start(prepared.request, passage_records(core, prepared, chapter, task="polish", origin="polish"))

    def diff(self, original: str, revised: str) -> list[DiffOp]:
        """Word-level (Latin) / character-level (CJK) edit script from original to revised."""
        if len(original) + len(revised) > MAX_DIFF_CHARS:
            raise InvalidInput(f"These texts are too long to compare here (over {MAX_DIFF_CHARS:,} characters).")
        return diff_texts(original, revised)

    def accept_polish(self, chapter_id: int, original: str, polished: str, base_version: int,
                      start: int | None = None, passage_id: int | None = None) -> ChapterRecord:
        """Replace `original` in the chapter with `polished` (a new revision).

        `start` is where the original sits in the chapter text (verified); without it the original
        must occur exactly once. With `passage_id`, that polish must have finished normally."""
        if not original:
            raise InvalidInput("The original passage is empty; select the text that was polished.")
        if passage_id is not None:
            self._check_polish_finished(passage_id, chapter_id)
        chapter = self._core.store.get_chapter(chapter_id)
        if chapter.version != base_version:
            raise SaveConflict(
                f"The chapter was saved elsewhere (it is now version {chapter.version}, you had version "
                f"{base_version}); the polish was not applied. Reload the chapter and accept it again.",
                chapter_id=chapter_id, current_version=chapter.version)
        position = self._locate(chapter.text, original, start)
        text = chapter.text[:position] + polished + chapter.text[position + len(original):]
        return self._core.store.save_chapter_text(chapter_id, text, base_version, source="ai")

    def _check_polish_finished(self, passage_id: int, chapter_id: int) -> None:
        passage = self._core.store.get_passage(passage_id)
        if passage.task != "polish" or passage.chapter_id != chapter_id:
            raise InvalidInput("This is not a polish of this chapter; nothing was changed.")
        if passage.finish_reason != "stop":
            raise InvalidInput(f"The polish was cut short ({passage.finish_reason or passage.status}): polish a "
                               "shorter passage or accept by hand. Nothing was changed.")

    @staticmethod
    def _locate(text: str, original: str, start: int | None) -> int:
        if start is not None:
            if isinstance(start, bool) or not isinstance(start, int) or start < 0 \
                    or text[start:start + len(original)] != original:
                raise InvalidInput("The selected passage is no longer at that place in the chapter (it was "
                                   "edited); select it again and polish once more. Nothing was changed.")
            return start
        count = text.count(original)
        if count == 0:
            raise InvalidInput("The original passage is no longer in the chapter (it was edited); "
                               "select it again and polish once more. Nothing was changed.")
        if count > 1:
            raise InvalidInput(f"This passage appears {count} times in the chapter; select it in the editor "
                               "so the right one is replaced. Nothing was changed.")
        return text.find(original)
