"""From the store's records to a prompt: gather what story memory needs and ask it for a ContextPlan.

Invariants: the prompt budget is the engine's context length − the task's max new tokens − a margin
(app.studio.core.prompt_budget), token counts come from the engine's own tokenizer, and the lore
seed is the chapter's version, so the same chapter state always yields the same prompt (a stable
prefix for the engine's cache, the same prompt hash for regenerated siblings); without a chapter
(role-play) the caller passes `lore_seed` (the request's seed) so the lore drawn varies per turn.
The `chapter` passed in is what memory sees for that chapter, even if the store holds a newer text
(a regenerated sibling is written from the chapter as it was before its sibling was accepted).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from app.memory.builder import build_context
from app.memory.plan import ChatLine, ContextBudgetError, ContextPlan, ContextTask
from app.studio.core import StudioCore
from app.studio.errors import InvalidInput
from story_store.records import ChapterRecord, ProjectRecord

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class PreparedPrompt:
    prompt: str
    stop: tuple[str, ...]
    plan: ContextPlan
    prompt_hash: str  # sha256 of the prompt text


def scratch_project(sample_text: str) -> ProjectRecord:
    """A project-less frame for a pasted passage; its language is guessed from the text."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    cjk = len(_CJK.findall(sample_text))
    language = "zh" if cjk * 4 >= len(sample_text.strip()) or cjk > 20 else "en"
    return ProjectRecord(id=0, title="", language=language, genre="", synopsis="", style_guide="",
                         authors_note="", settings={}, created_at=now, updated_at=now, deleted_at=None)


def prepare_prompt(core: StudioCore, project: ProjectRecord, template: str, *,
                   chapter: ChapterRecord | None = None, values: Mapping[str, Any] | None = None,
                   transcript: tuple[ChatLine, ...] = (), focus_character_ids: tuple[int, ...] = (),
                   max_new_tokens: int, remember: bool = True, lore_seed: int = 0) -> PreparedPrompt:
    """Build the ContextPlan for one request; `remember` records it as the studio's last context."""
    budget = core.prompt_budget(max_new_tokens)
    if budget <= 0:
        raise InvalidInput("The model's context is too short for this request; lower max new tokens.")
    task = ContextTask(template=template, values=dict(values or {}), transcript=tuple(transcript),
                       focus_character_ids=tuple(focus_character_ids))
    try:
        plan = build_context(task, **_memory_inputs(core, project, chapter), budget_tokens=budget,
                             count_tokens=core.count_tokens,
                             seed=chapter.version if chapter is not None else lore_seed)
    except ContextBudgetError as exc:
        raise InvalidInput(f"This request does not fit the model's context: {exc}") from exc
    except ValueError as exc:  # e.g. a malformed project setting
        raise InvalidInput(str(exc)) from exc
    prompt = plan.render()
    prepared = PreparedPrompt(prompt, tuple(plan.stop), plan, hashlib.sha256(prompt.encode()).hexdigest())
    if remember:
        core.last_plan = plan
        core.remember_prompt(prepared.prompt_hash, prompt)
    return prepared


def _memory_inputs(core: StudioCore, project: ProjectRecord, chapter: ChapterRecord | None) -> dict[str, Any]:
    if project.id == 0:  # a scratch project: nothing stored to draw on
        return dict(project=project, characters=[], lore_entries=[], chapters=[], current_chapter_id=None,
                    search=None)
    store = core.store
    return dict(
        project=project,
        characters=core.store.list_characters(project.id),
        lore_entries=core.store.list_lore_entries(project.id),
        chapters=[chapter if chapter is not None and c.id == chapter.id else c
                  for c in core.store.list_chapters(project.id)],
        current_chapter_id=chapter.id if chapter is not None else None,
        search=lambda query: store.search(project.id, query),
    )
