"""Versioning refusals rendered from codes in both languages (their texts live in the message catalogue,
which refuses a key defined twice)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from app.studio import InvalidInput, SaveConflict
from app.ui.common import LiveGenerations, Shell
from app.ui.inputs import BadInput, as_id
from app.ui.translator import Translator
from app.ui.history import refusal

ROOT = Path(__file__).resolve().parents[2]


def _shell(language: str) -> Shell:
    return Shell(studio=None, tr=Translator(language), live=LiveGenerations())  # type: ignore[arg-type]


def test_a_conflict_says_who_saved_when_and_what_changed_in_both_languages() -> None:
    conflict = SaveConflict("fallback", current_version=3, code="conflict.stale", kind="character", record_id=7,
                            field_group="sheet", base_version=2, saved_at=datetime(2026, 12, 1, 9, 30),
                            saved_source="ai", saved_by="", changed_fields=["description"], added=5, removed=1)
    english, chinese = refusal(_shell("en"), conflict), refusal(_shell("zh"), conflict)
    assert "2026-12-01 09:30:00 UTC" in english and "the model" in english and "description" in english
    assert "version 3" in english and "+5 / −1" in english
    assert "模型" in chinese and "第 3 版" in chinese and "人物小传" in chinese


def test_refused_ids_and_texts_render_from_their_codes() -> None:
    with pytest.raises(BadInput) as refused:
        as_id(10**20, "chapter")
    assert refusal(_shell("zh"), refused.value) == "章节编号必须在 1 到 9223372036854775807 之间，收到的是 100000000000000000000。"
    with pytest.raises(BadInput) as coerced:
        as_id(True, "lore entry")
    assert refusal(_shell("en"), coerced.value) == "A lore entry id must be a whole number; got True."
    surrogate = InvalidInput("x", code="text.surrogate", field="instruction", position=4)
    assert "position 4" in refusal(_shell("en"), surrogate) and "第 4 位" in refusal(_shell("zh"), surrogate)
    assert refusal(_shell("en"), InvalidInput("plain words")) == "plain words"
