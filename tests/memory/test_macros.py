"""Card macros: {{char}}/<BOT> and {{user}}/<USER> are filled, any other braces are left as data."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.memory.macros import fill_macros


def test_every_spelling_is_filled_and_other_braces_stay():
    text = "{{char}} {{ Char }} <BOT> {{user}} {{USER}} <USER> {{random}} {{char_name}} {x}"
    assert fill_macros(text, char="林远", user="阿青") == "林远 林远 林远 阿青 阿青 阿青 {{random}} {{char_name}} {x}"


def test_a_name_is_inserted_literally():
    assert fill_macros("{{char}}", char=r"\1 \g<0>", user="u") == r"\1 \g<0>"


@given(st.text().filter(lambda t: "{{" not in t and "<" not in t), st.text())
def test_text_without_macros_is_unchanged(text, name):
    assert fill_macros(text, char=name, user=name) == text
