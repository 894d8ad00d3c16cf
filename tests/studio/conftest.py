"""Studio fixtures: a real Store on a tmp SQLite file, the real TransformersEngine on the tiny model."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.studio import Studio, StudioOptions

@pytest.fixture(scope="session")
def tiny_parts(tiny_model_dir: Path):
    """(model, tokenizer): the tiny random XVERSE-MoE in fp32 on CPU, loaded once."""
    import app.engine.xverse  # noqa: F401 - registers the model with the Auto classes
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    return model, AutoTokenizer.from_pretrained(tiny_model_dir)


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
