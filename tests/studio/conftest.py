"""Studio fixtures: a real Store on a tmp SQLite file, the real TransformersEngine on the tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.studio import Studio, StudioOptions




@pytest.fixture()
def engine(tiny_parts):
    from app.engine.transformers_engine import TransformersEngine

    model, tokenizer = tiny_parts
    return TransformersEngine(model, tokenizer, model_id="tiny-xverse", context_length=1024)


@pytest.fixture()
def options(tmp_path: Path) -> StudioOptions:
    return StudioOptions(export_dir=tmp_path / "exports", stream_interval_s=0.01, persist_interval_s=0.05)


@pytest.fixture()
def studio(store, engine, options) -> Studio:
    return Studio(store, engine, options)
