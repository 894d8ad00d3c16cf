"""Refused ids and numbers are worded in the session's language, the refused thing's name included."""

from __future__ import annotations

import math
import re
import types

import pytest
from gradio.context import LocalContext

from app.ui.inputs import BadInput, as_finite, as_id, as_whole, require_id
from app.ui.translator import TRANSLATOR_ATTRIBUTE, Translator

LATIN_WORD = re.compile(r"[A-Za-z]{2,}")


@pytest.fixture()
def speaking():
    """Handle as if inside a request of an app whose session speaks `language`."""
    tokens = []

    def use(language: str) -> None:
        tokens.append(LocalContext.blocks.set(types.SimpleNamespace(**{TRANSLATOR_ATTRIBUTE: Translator(language)})))

    yield use
    for token in reversed(tokens):
        LocalContext.blocks.reset(token)


REFUSALS = [
    lambda: as_id(1.5, "lore entry"), lambda: as_id(0, "character"), lambda: as_whole(math.nan, "seed", 0, 9),
    lambda: as_whole(50, "branches", 2, 4), lambda: as_whole("x", "insertion_order", 0, 9),
    lambda: as_finite(math.inf, "Temperature"), lambda: as_whole(2.5, "Top-k", 0, 9),
]


@pytest.mark.parametrize("refuse", REFUSALS)
def test_a_chinese_session_reads_every_refusal_in_chinese(speaking, refuse):
    speaking("zh")
    with pytest.raises(BadInput) as refused:
        refuse()
    shown = str(refused.value)
    words = [w for w in LATIN_WORD.findall(shown) if w not in {"nan", "inf", "Top", "Min"}]
    assert words == [] and re.search(r"[\u4e00-\u9fff]", shown), shown


def test_an_english_session_names_the_field_in_english(speaking):
    speaking("en")
    with pytest.raises(BadInput, match="insertion order must be a whole number"):
        as_whole("x", "insertion_order", 0, 9)
    with pytest.raises(BadInput, match="lore entry"):
        as_id("1a", "lore entry")


def test_nothing_chosen_is_asked_for_in_the_session_language(speaking):
    speaking("zh")
    with pytest.raises(Exception, match="请先选择人物"):
        require_id(None, "character")
