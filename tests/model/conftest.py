"""Fixtures for the model tests: the tiny checkpoint loaded in fp32 through the real loader."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_fp32(tiny_model_dir: Path):
    """(model, tokenizer) of the tiny XVERSE-MoE in fp32, loaded by app.engine.loading.load_model."""
    from app.engine.loading import load_model

    return load_model(tiny_model_dir, quantization="fp32")


