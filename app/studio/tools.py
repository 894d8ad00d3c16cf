"""Writing tools from the prompt templates: a book outline, a character bio (人物小传), a script outline
(剧本大纲) and a short-video script (短视频文案), each written from the project's story memory.

Each call checks its inputs and prepares the request eagerly (a bad id, empty material or a missing
model raises a StudioError at call time), then returns the `Generation`. Invariants:
- the text streams into a passage of the project (task = the tool's name, no chapter) and is kept for
  reuse (`results`); the template's last line (e.g. "第1章", "镜头1：") is the start of the text the model
  continues, so a finished or stopped result is stored with it in front (an abandoned one without);
- a bio reaches the character sheet only when the writer asks (`bio_into_sheet`): it replaces the
  sheet's background as a new version, so the earlier background stays restorable in its history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from app.studio.core import RunTarget, StudioCore
from app.studio.errors import InvalidInput
from app.studio.generation import Generation
from app.studio.recipe import PreparedGeneration, prepare_generation
from app.studio.runs import Snapshot
from app.studio.sinks import PassageSink
from app.studio.store_seam import translates_store_errors
from story_store.records import CharacterRecord, PassageRecord, ProjectRecord

TOOLS = ("outline", "character_bio", "script_outline", "short_video")
MAX_MATERIAL_CHARS = 4000  # a premise, topic or notes longer than this belongs in the lore
MAX_OUTLINE_CHAPTERS = 200
MAX_VIDEO_SECONDS = 600


@translates_store_errors
class WritingToolsService:
    def __init__(self, core: StudioCore) -> None:
        self._core = core

    def outline_book(self, project_id: int, premise: str, chapter_count: int = 10,
                     seed: int | None = None) -> Generation:
        """A chapter-by-chapter outline of the book (one line per chapter) from a premise."""
        project = self._core.store.get_project(project_id)
        _check_range(chapter_count, 1, MAX_OUTLINE_CHAPTERS, "tools.chapter_count_range")
        notes = "\n".join(f"{c.name}：{c.description}" if c.description else c.name
                          for c in self._core.store.list_characters(project_id))
        values = dict(premise=_material(premise), chapter_count=chapter_count, character_notes=notes)
        return self._run(project, "outline", values, seed)

    def character_bio(self, character_id: int, notes: str = "", seed: int | None = None) -> Generation:
        """A biography of the character from its sheet (focused in the memory) and the writer's notes."""
        character = self._core.store.get_character(character_id)
        project = self._core.store.get_project(character.project_id)
        values = dict(name=character.name, notes=_material(notes, required=False))
        return self._run(project, "character_bio", values, seed, focus=(character.id,))

    def script_outline(self, project_id: int, premise: str, seed: int | None = None) -> Generation:
        """A script outline in acts (scenes, characters, conflicts) from the book and a premise."""
        project = self._core.store.get_project(project_id)
        return self._run(project, "script_outline", dict(premise=_material(premise)), seed)

    def short_video(self, project_id: int, topic: str, duration_s: int = 60, seed: int | None = None) -> Generation:
        """A short-video script (shots, pictures, lines) of `duration_s` seconds about `topic`."""
        project = self._core.store.get_project(project_id)
        _check_range(duration_s, 5, MAX_VIDEO_SECONDS, "tools.duration_range")
        return self._run(project, "short_video", dict(topic=_material(topic), duration_s=duration_s), seed)

    def results(self, project_id: int, tool: str) -> list[PassageRecord]:
        """The project's earlier results of `tool` that hold text, newest first."""
        _check_tool(tool)
        kept = [p for p in self._core.store.list_passages(project_id)
                if p.task == tool and p.chapter_id is None and p.status != "streaming" and p.text.strip()]
        return sorted(kept, key=lambda p: p.id, reverse=True)

    def bio_into_sheet(self, passage_id: int, character_id: int) -> CharacterRecord:
        """The bio becomes the character's background (a new version; the old one stays in history)."""
        passage = self._core.store.get_passage(passage_id)
        character = self._core.store.get_character(character_id)
        if passage.task != "character_bio" or passage.project_id != character.project_id:
            raise InvalidInput("tools.not_a_bio")
        return self._core.store.update_character(character.id, base_version=character.version, source="ai",
                                                 background=passage.text.strip())

    def _run(self, project: ProjectRecord, tool: str, values: Mapping[str, object], seed: int | None,
             focus: tuple[int, ...] = ()) -> Generation:
        core = self._core
        prepared = prepare_generation(core, project, tool, seed=seed, values=values, focus_character_ids=focus)
        lead = prepared.prompt.prompt.rsplit("\n", 1)[-1]  # the text the model continues from
        return core.start(prepared.request, self._records(prepared, tool),
                          lambda final, ids: self._finish(final, ids[0], lead))

    def _records(self, prepared: PreparedGeneration, tool: str) -> Callable[[], RunTarget]:
        core = self._core

        def create() -> RunTarget:
            passage = core.store.create_passage(
                prepared.project.id, task=tool, model_id=core.engine.info().model_id,
                sampling=prepared.recorded_sampling, seed=prepared.seed, prompt_hash=prepared.prompt.prompt_hash,
                status="streaming")
            return RunTarget(PassageSink(core.store, (passage.id,)), passage_ids=(passage.id,))

        return create

    def _finish(self, final: Snapshot, passage_id: int, lead: str) -> tuple[None, str]:
        text = final.texts[0]
        if text.strip() and final.reasons[0] != "error":
            self._core.store.update_passage(passage_id, text=lead + text)
        return None, ""


def _material(text: str, required: bool = True) -> str:
    if not isinstance(text, str):
        raise InvalidInput("tools.material_not_text")
    stripped = text.strip()
    if required and not stripped:
        raise InvalidInput("tools.material_missing")
    if len(stripped) > MAX_MATERIAL_CHARS:
        raise InvalidInput("tools.material_too_long", length=len(stripped), limit=MAX_MATERIAL_CHARS)
    return stripped


def _check_range(value: int, low: int, high: int, code: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(code, value=value, low=low, high=high)


def _check_tool(tool: str) -> None:
    if tool not in TOOLS:
        raise InvalidInput("tools.unknown_tool", tool=tool, choices=", ".join(TOOLS))
