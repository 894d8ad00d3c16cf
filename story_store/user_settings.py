"""The writer's own preferences, kept with the story (not per project): the interface language, the
place they were working at (project, chapter, tab), ...

Owns the `user_settings` table (one row per name, a JSON value) and its two store methods. Names are
short identifiers chosen by the studio; values are any JSON value. Invariant: a read of a name never
written returns the caller's default; a write replaces the whole value in one transaction.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from messages import Message
from story_store.errors import ValidationError
from story_store.fields import check_json_object
from story_store.models import Base, utc_now

SETTING_NAME = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")


class UserSetting(Base):
    __tablename__ = "user_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utc_now, onupdate=utc_now)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not SETTING_NAME.match(name):
        raise ValidationError("store.bad_setting_name", name=repr(name))
    return name


class UserSettingsMixin:
    """`get_user_setting(name, default)` / `set_user_setting(name, value)` (needs the StoreBase helpers)."""

    def get_user_setting(self, name: str, default: Any = None) -> Any:
        _check_name(name)
        with self._read() as session:  # type: ignore[attr-defined]
            row = session.get(UserSetting, name)
            return default if row is None else row.value

    def set_user_setting(self, name: str, value: Any) -> Any:
        """Store `value` (any JSON value) under `name`; returns it."""
        _check_name(name)
        check_json_object(Message("store.setting", name=name), {"value": value})
        with self._write() as session:  # type: ignore[attr-defined]
            row = session.get(UserSetting, name)
            if row is None:
                session.add(UserSetting(name=name, value=value))
            else:
                row.value = value
        return value

