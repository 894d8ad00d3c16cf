"""Character-card macros as SillyTavern fills them: `{{char}}` (also `<BOT>`) is the character's name,
`{{user}}` (also `<USER>`) the writer's persona name. Matching ignores case (`{{Char}}`, `{{USER}}`).

Invariant: only these four spellings are replaced, each in one pass; any other `{{...}}` text stays as the
writer wrote it (it is data, never a template), and a name is inserted literally.
"""

from __future__ import annotations

import re

CHAR_MACRO = re.compile(r"\{\{\s*char\s*\}\}|<BOT>", re.IGNORECASE)
USER_MACRO = re.compile(r"\{\{\s*user\s*\}\}|<USER>", re.IGNORECASE)


def fill_macros(text: str, *, char: str, user: str) -> str:
    """`text` with the card macros replaced by the names (literally: a name with "\\1" stays as it is)."""
    if "{" not in text and "<" not in text:
        return text
    text = CHAR_MACRO.sub(lambda _: char, text)
    return USER_MACRO.sub(lambda _: user, text)
