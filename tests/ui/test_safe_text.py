"""safe_text: Markdown source that shows exactly the text; nothing else of it changes."""

from __future__ import annotations

from app.ui.safe_text import md_cell, md_text, toast_text


def test_markdown_active_characters_are_escaped_and_the_rest_kept():
    assert md_text('<img src="x">') == '\\<img src="x"\\>'
    assert md_text("![p](u) [l](u) a\\b &amp;") == "!\\[p\\](u) \\[l\\](u) a\\\\b \\&amp;"
    assert md_text("see http://x.test and www.x.test") == "see http\\://x.test and www\\.x.test"
    assert md_text("沈砚秋说：*轻声*。Chapter 1.") == "沈砚秋说：*轻声*。Chapter 1."


def test_table_cells_and_toasts():
    assert md_cell("a|b\nc") == "a\\|b c"
    assert toast_text("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
