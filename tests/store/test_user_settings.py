"""The writer's own preferences: stored as JSON by name, kept across a reopen, bad names refused."""

from __future__ import annotations

import pytest

from story_store import Store, ValidationError


def test_a_setting_round_trips_and_survives_a_reopen(store_url: str) -> None:
    with Store(store_url) as store:
        assert store.get_user_setting("ui.language") is None
        assert store.get_user_setting("ui.language", "en") == "en"
        store.set_user_setting("ui.language", "zh")
        store.set_user_setting("ui.place", {"project_id": 3, "chapter_id": 7, "tab": "write"})
        store.set_user_setting("ui.language", "en")  # a write replaces the value
    with Store(store_url) as reopened:
        assert reopened.get_user_setting("ui.language") == "en"
        assert reopened.get_user_setting("ui.place") == {"project_id": 3, "chapter_id": 7, "tab": "write"}


@pytest.mark.parametrize("name", ["", "UI", "ui language", "x" * 65, 3, None])
def test_a_bad_name_is_refused_in_both_languages(store: Store, name) -> None:
    with pytest.raises(ValidationError) as raised:
        store.set_user_setting(name, "zh")
    assert "setting name" in str(raised.value) and "设置名" in raised.value.render("zh")


def test_a_value_that_is_not_json_is_refused_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(ValidationError):
        store.set_user_setting("ui.place", {"when": object()})
    assert store.get_user_setting("ui.place") is None
