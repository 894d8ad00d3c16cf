"""safe_text: Markdown source that shows exactly the text; nothing else of it changes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.ui.safe_text import md_cell, md_text, md_unescape, toast_text


def test_markdown_active_characters_are_escaped_and_the_rest_kept():
    assert md_text('<img src="x">') == '\\<img src="x"\\>'
    assert md_text("![p](u) [l](u) a\\b &amp;") == "!\\[p\\](u) \\[l\\](u) a\\\\b \\&amp;"
    assert md_text("see http://x.test and www.x.test") == "see http\\://x.test and www\\.x.test"
    assert md_text("沈砚秋说：*轻声*。Chapter 1.") == "沈砚秋说：*轻声*。Chapter 1."


def test_table_cells_and_toasts():
    assert md_cell("a|b\nc") == "a\\|b c"
    assert toast_text("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"


@given(st.text(alphabet="w\\:/.<>&[]a 沈*|\n", max_size=40) | st.text(max_size=60))
def test_md_unescape_inverts_md_text(text):
    """A chat message's inline edit comes back as its md_text source: the writer's text is restored exactly."""
    assert md_unescape(md_text(text)) == text


def test_md_unescape_of_a_typed_edit_keeps_plain_text():
    assert md_unescape("她说：http\\://x.test 与 www\\.x.test \\<b\\>") == "她说：http://x.test 与 www.x.test <b>"
