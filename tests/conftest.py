"""Shared fixtures: real SQLite files in temp dirs, one tiny random XVERSE-MoE per test session, and the
committed demo model."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random XVERSE-MoE checkpoint in the official on-disk format (built once per session)."""
    from app.engine.tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-xverse"))


@pytest.fixture(scope="session")
def demo_parts():
    """(model, tokenizer): the committed demo model (trained on 红楼梦 + Pride and Prejudice), fp32 on CPU:
    what `--demo` runs. It writes prose-like text and ends at end-of-text by itself; tests that need a model
    which never stops early use `tiny_parts` instead."""
    import app.engine.xverse  # noqa: F401 - registers the model with the Auto classes
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from app.engine.demo import BUNDLED_DIR, bundled_demo_available

    assert bundled_demo_available(), f"the trained demo model is missing from {BUNDLED_DIR}"
    return AutoModelForCausalLM.from_pretrained(BUNDLED_DIR).eval(), AutoTokenizer.from_pretrained(BUNDLED_DIR)


@pytest.fixture()
def store(tmp_path: Path):
    """A real Store on a fresh SQLite file."""
    from story_store import Store

    s = Store(f"sqlite:///{tmp_path / 'inkstone.db'}")
    yield s
    s.close()


@pytest.fixture(scope="session")
def tiny_parts(tiny_model_dir: Path):
    """(model, tokenizer): the tiny XVERSE-MoE loaded the standard way (fp32, CPU), shared by the session."""
    import app.engine.xverse  # noqa: F401 - registers the model with the Auto classes
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    return model, AutoTokenizer.from_pretrained(tiny_model_dir)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run fastest on one thread; more threads spin against each other on a busy 2-core box."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
