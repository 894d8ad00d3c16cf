"""Settings: the loaded engine, a project's sampling defaults, and the store's backups.

Invariant: restoring a backup first backs up the current content (the store keeps it next to the
backup), so a restore can itself be undone.
"""

from __future__ import annotations

import dataclasses

from app.engine import Engine, EngineInfo, SamplingParams
from app.studio.core import sampling_for
from app.studio.errors import InvalidInput
from app.studio.store_seam import StoryStore, translates_store_errors
from story_store.records import ProjectRecord


@translates_store_errors
class SettingsService:
    def __init__(self, store: StoryStore, engine: Engine) -> None:
        self._store = store
        self._engine = engine

    def engine_info(self) -> EngineInfo:
        return self._engine.info()

    def sampling_defaults(self, project_id: int) -> SamplingParams:
        return sampling_for(self._store.get_project(project_id))

    def set_sampling_defaults(self, project_id: int, params: SamplingParams) -> ProjectRecord:
        if not isinstance(params, SamplingParams):
            raise InvalidInput("Sampling defaults must be a SamplingParams value.")
        project = self._store.get_project(project_id)
        settings = {**project.settings, "sampling": dataclasses.asdict(params)}
        return self._store.update_project(project_id, settings=settings)

