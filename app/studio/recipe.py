"""The one generation recipe every use case follows, and the passage records most of them create.

`prepare_generation` does, in this order: require a model → max new tokens for the task → a seed →
the prompt from story memory → the project's sampling → the engine request. It raises a StudioError
before anything is written. The use case then calls `core.start(prepared.request, records, finish)`,
supplying only the records it creates (e.g. `passage_records(...)`) and its finishing step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from app.engine import GenerationRequest, SamplingParams
from app.memory.plan import ChatLine
from app.studio.context import PreparedPrompt, prepare_prompt
from app.studio.core import RunTarget, StudioCore, sampling_for
from app.studio.sinks import PassageSink
from story_store.records import ChapterRecord, ProjectRecord


@dataclass(frozen=True)
class PreparedGeneration:
    project: ProjectRecord
    prompt: PreparedPrompt
    request: GenerationRequest
    sampling: SamplingParams
    seed: int
    max_new_tokens: int

    @property
    def recorded_sampling(self) -> dict[str, Any]:
        """What a passage records about how it was sampled."""
        return {**dataclasses.asdict(self.sampling), "max_new_tokens": self.max_new_tokens, "n": self.request.n}


def prepare_generation(core: StudioCore, project: ProjectRecord, task: str, *, template: str | None = None,
                       chapter: ChapterRecord | None = None, n: int = 1, seed: int | None = None,
                       values: Mapping[str, Any] | None = None, transcript: tuple[ChatLine, ...] = (),
                       focus_character_ids: tuple[int, ...] = (),
                       wanted_tokens: Callable[[], int] | None = None) -> PreparedGeneration:
    """Everything a generation needs before its records exist (see the module docstring).

    `task` names the token allowance (DEFAULT_MAX_NEW_TOKENS); `template` the prompt (default: `task`);
    `wanted_tokens`, called once a model is known to be there, replaces the task's allowance. Without a
    chapter the lore draw is seeded by the request's seed (it varies per turn and reproduces)."""
    core.require_model()
    max_new = core.max_new_tokens(project, task, wanted_tokens() if wanted_tokens is not None else None)
    chosen_seed = core.new_seed(seed)
    prompt = prepare_prompt(core, project, template or task, chapter=chapter, values=values, transcript=transcript,
                            focus_character_ids=focus_character_ids, max_new_tokens=max_new, lore_seed=chosen_seed)
    sampling = sampling_for(project)
    request = core.make_request(prompt.prompt, prompt.stop, n=n, max_new_tokens=max_new, sampling=sampling,
                                seed=chosen_seed)
    return PreparedGeneration(project, prompt, request, sampling, chosen_seed, max_new)


def passage_records(core: StudioCore, prepared: PreparedGeneration, chapter: ChapterRecord, *, task: str,
                    origin: str = "ai", parent_id: int | None = None,
                    first_branch_index: int = 0) -> Callable[[], RunTarget]:
    """The records step of a chapter generation: one "streaming" passage per branch, streamed into."""

    def create() -> RunTarget:
        model_id = core.engine.info().model_id
        ids = tuple(
            core.store.create_passage(
                prepared.project.id, chapter_id=chapter.id, parent_id=parent_id, origin=origin, task=task,
                model_id=model_id, sampling=prepared.recorded_sampling, seed=prepared.seed,
                prompt_hash=prepared.prompt.prompt_hash, branch_index=first_branch_index + i, status="streaming",
            ).id
            for i in range(prepared.request.n)
        )
        return RunTarget(PassageSink(core.store, ids), passage_ids=ids)

    return create
