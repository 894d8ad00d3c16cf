"""Fixtures for the learning tests: the bundled trained demo model and a writer's own short texts."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_model_dir() -> Path:
    """The committed demo checkpoint (trained on 红楼梦 + Pride and Prejudice)."""
    from app.engine.demo import BUNDLED_DIR, bundled_demo_available

    assert bundled_demo_available(), f"the trained demo model is missing from {BUNDLED_DIR}"
    return BUNDLED_DIR


@pytest.fixture(scope="session")
def writer_texts() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(train, held-out) paragraphs of a 'writer's book' (the bundled modern zh + en stories):
    the last three paragraphs of each language are held out."""
    from importlib import resources

    train: list[str] = []
    heldout: list[str] = []
    for name in ("zh.txt", "en.txt"):
        text = (resources.files("app.engine") / "tiny_corpus" / name).read_text(encoding="utf-8")
        paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
        train += paragraphs[:-3]
        heldout += paragraphs[-3:]
    return tuple(train), tuple(heldout)


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread_for_module_fixtures():
    """Module-scoped fixtures (a fine-tune) run before the function-scoped one-thread fixture of
    tests/conftest.py; two threads spin against each other on a loaded 2-core box."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
