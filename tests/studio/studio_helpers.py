"""Helpers shared by the studio tests (imported by module name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.studio import Studio

FAST_TOKENS = {"draft": 24, "continue": 16, "branch": 12, "brainstorm": 16, "summary": 12, "polish": 16,
               "roleplay": 12, "outline": 16, "character_bio": 16, "script_outline": 16, "short_video": 16}


def new_project(studio: Studio, language: str = "zh", title: str = "青云志", **settings):
    """A project whose generations are short (fast tests) unless `settings` says otherwise."""
    project = studio.library.create_project(title, language=language, synopsis="少年入山门，修仙问道。")
    return studio.library.update_project(project.id, settings={"max_new_tokens": FAST_TOKENS, **settings})


def drain(generation):
    """Stream a generation to its end; returns (all updates, final update)."""
    seen = list(generation.updates())
    assert seen and seen[-1].done and not any(u.done for u in seen[:-1])
    return seen, seen[-1]
