"""UI fixtures: one real launched Gradio app per module over a real Studio (tmp SQLite store, the tiny
random XVERSE-MoE in a TransformersEngine), driven through gradio_client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Short generations keep the suite fast on 2 CPU cores (project settings the studio honours).
FAST_TOKENS = {"draft": 24, "continue": 16, "branch": 12, "brainstorm": 16, "summary": 12, "polish": 16,
               "roleplay": 12, "outline": 16, "character_bio": 16, "script_outline": 16, "short_video": 16}


@dataclass
class RunningStudio:
    studio: object
    store: object
    url: str
    export_dir: Path





@pytest.fixture(scope="module")
def running(tiny_parts, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStudio]:
    from app.engine.transformers_engine import TransformersEngine
    from app.studio import Studio, StudioOptions
    from app.ui import build_app
    from serving import launch_for_test
    from story_store import Store

    data = tmp_path_factory.mktemp("ui-data")
    store = Store(f"sqlite:///{data / 'inkstone.db'}")
    model, tokenizer = tiny_parts
    engine = TransformersEngine(model, tokenizer, model_id="tiny-xverse", context_length=4096,  # room for a long run in the Stop test
                                notes="demo model: text is random")
    options = StudioOptions(export_dir=data / "exports", demo=True, persist_interval_s=0.2,
                            backup_dir=data / "backups")
    studio = Studio(store, engine, options)
    app = build_app(studio)
    url = launch_for_test(app)
    try:
        yield RunningStudio(studio, store, url, data / "exports")
    finally:
        studio.cancel_all()
        app.close()
        store.close()


@pytest.fixture()
def client(running: RunningStudio):
    from serving import studio_client

    c = studio_client(running.url)
    yield c
    c.close()


@pytest.fixture()
def make_fast(running: RunningStudio):
    """Give a project short generations (its settings), so tests stay fast on 2 CPU cores."""

    def make_fast(project_id: int):
        return running.studio.library.update_project(project_id, settings={"max_new_tokens": FAST_TOKENS})

    return make_fast
