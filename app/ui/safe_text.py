"""Text from writers, cards and models shown as text, never as HTML (DESIGN §6).

Gradio renders Markdown views, table cells and chat messages through Markdown and an HTML sanitizer
that still allows `<img src=…>` and `<a href=…>`, and toasts as sanitized HTML; a card's greeting or
a chapter title could then create elements and make requests (a beacon) when viewed. Invariants:
- `md_text`: Markdown source that renders as exactly the given text: backslash, `<`, `>`, `&`, `[`,
  `]` are backslash-escaped (no raw HTML, entity, link or image can form) and bare URLs are broken up
  (no autolink element); every other character (CJK, `*`, `.`…) is left as it is;
- `md_cell`: the same for one Markdown table cell (`|` escaped, line breaks become spaces);
- `toast_text`: HTML-escaped, for gr.Error / gr.Warning / gr.Info messages;
- chat messages go to the Chatbot as `md_text` of their text; an inline edit comes back as that
  source, and `md_unescape(md_text(x)) == x` for every x (tests/ui/test_safe_text_roundtrip.py).
"""

from __future__ import annotations

import html
import re
from typing import Any

_MARKDOWN_ACTIVE = re.compile(r"([\\<>&\[\]])")
_AUTOLINK = re.compile(r"(?i)(?<=[a-z])(:)(?=//)|(?<=www)(\.)")


def md_text(text: Any) -> str:
    escaped = _MARKDOWN_ACTIVE.sub(r"\\\1", str(text))
    return _AUTOLINK.sub(lambda m: "\\" + m.group(0), escaped)


_ESCAPED = re.compile(r"\\([\\<>&\[\]:.])")


def md_unescape(shown: Any) -> str:
    """The text whose `md_text` is `shown` (a chat message's source, as the inline editor returns it)."""
    return _ESCAPED.sub(r"\1", str(shown))


def md_cell(value: Any) -> str:
    return md_text(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def toast_text(text: Any) -> str:
    return html.escape(str(text), quote=False)
