"""Which characters a scene needs (NovelCrafter's codex idea, DESIGN §5).

Owns the choice and its reasons. A character is included when it is the task's focus (e.g. the
role-play partner), the chapter's point-of-view character, pinned, or named (name or alias) in the
scanned text. Order is stable first: focus, POV, pinned (by id), then detected (by id).
Names match case-insensitively; a name made of ASCII letters matches whole words only, while a
CJK name matches anywhere (CJK text has no spaces between words).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from messages import Message
from story_store.records import CharacterRecord


@dataclass(frozen=True)
class CharacterChoice:
    character: CharacterRecord
    included: bool
    reason: Message
    rank: int  # 0 focus, 1 POV, 2 pinned, 3 detected, 4 not needed


@lru_cache(maxsize=4096)
def _name_pattern(name: str) -> re.Pattern[str]:
    body = re.escape(name)
    if re.fullmatch(r"[A-Za-z0-9_ .'\-]+", name):
        body = rf"(?<![A-Za-z0-9_]){body}(?![A-Za-z0-9_])"
    return re.compile(body, re.IGNORECASE)


def mentioned_name(character: CharacterRecord, text: str) -> str | None:
    """The first of the character's name and aliases found in `text`."""
    for name in (character.name, *character.aliases):
        name = name.strip()
        if name and _name_pattern(name).search(text):
            return name
    return None


def choose_characters(
    characters: Sequence[CharacterRecord],
    scan_text: str,
    *,
    pov_character_id: int | None,
    focus_ids: Sequence[int] = (),
) -> list[CharacterChoice]:
    """One choice per live character, included ones first in stable order."""
    choices = []
    for character in characters:
        if character.deleted_at is not None:
            continue
        choices.append(_choose(character, scan_text, pov_character_id, focus_ids))
    return sorted(choices, key=lambda c: (c.rank, c.character.id))


def _choose(character, scan_text, pov_id, focus_ids) -> CharacterChoice:
    if character.id in focus_ids:
        return CharacterChoice(character, True, Message("memory.reason.focus"), 0)
    if character.id == pov_id:
        return CharacterChoice(character, True, Message("memory.reason.pov"), 1)
    if character.pinned:
        return CharacterChoice(character, True, Message("memory.reason.pinned"), 2)
    name = mentioned_name(character, scan_text)
    if name is not None:
        return CharacterChoice(character, True, Message("memory.reason.named", name=name), 3)
    return CharacterChoice(character, False, Message("memory.reason.not_named"), 4)
