"""Shared fixtures: real SQLite files in temp dirs and one tiny random XVERSE-MoE per test session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random XVERSE-MoE checkpoint in the official on-disk format (built once per session)."""
    from app.engine.tiny import build_tiny_checkpoint

    return build_tiny_checkpoint(tmp_path_factory.mktemp("tiny-xverse"))


@pytest.fixture()
def store(tmp_path: Path):
    """A real Store on a fresh SQLite file."""
    from story_store import Store

    s = Store(f"sqlite:///{tmp_path / 'inkstone.db'}")
    yield s
    s.close()
