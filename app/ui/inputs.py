"""Input checks for what a browser or API client sends: ids, whole numbers, finite numbers, seeds.

Invariant: nothing is coerced silently — 1.5, True, NaN, infinity, [1, 2] and "1a" are refused with a
`BadInput` carrying a code plus values, worded in the session's language; nothing is changed.
"""

from __future__ import annotations

import math
import re
from typing import Any

import gradio as gr

from messages import noun_message

from app.ui.safe_text import toast_text
from app.ui.strings import STRINGS
from app.ui.translator import current_translator, writer_error


MAX_ID = 2**63 - 1  # SQLite's INTEGER range


class BadInput(gr.Error):
    """A refused id or number from a browser or API client, as a code plus values (nothing changed)."""

    def __init__(self, message: str, code: str, **values: Any) -> None:
        super().__init__(toast_text(_refused_text(message, code, values)))
        self.code, self.values = code, values


NAMED_VALUES = ("entity", "field")  # values that name what was refused: worded through the "noun." keys


def _refused_text(english: str, code: str, values: dict[str, Any]) -> str:
    """The catalogue's "err_" + code text in the session's language (the refused thing's name too), or
    `english` when it cannot be filled."""
    try:
        tr = current_translator()
        if f"err_{code}" not in STRINGS:
            return english
        named = {k: _noun(tr, v) for k, v in values.items() if k in NAMED_VALUES}
        return tr(f"err_{code}", **{**values, **named})
    except (KeyError, IndexError, ValueError):
        return english


def _noun(tr: Any, name: Any) -> Any:
    key = "noun." + str(name).replace(" ", "_")
    return tr(key) if key in STRINGS else name


def as_id(value: Any, what: str = "item") -> int | None:
    """A dropdown/API value as an int id, or None when nothing is selected.

    Nothing is coerced: 1.5, True, [1, 2] and "1a" are refused (id.not_whole_number), and so are 0,
    -1 and 10**20 (id.out_of_range); a string of digits (a dropdown's own value) is read as its number."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    shown = repr(value)[:60]
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"Not a valid {what} id: {shown} (ids are whole numbers).", "id.not_whole_number",
                       entity=noun_message(what), value=shown)
    if not 1 <= value <= MAX_ID:
        raise BadInput(f"Not a valid {what} id: {shown} (ids are between 1 and {MAX_ID}).", "id.out_of_range",
                       entity=noun_message(what), value=shown, high=MAX_ID)
    return value


def as_whole(value: Any, field: str, low: int, high: int, default: int | None = None) -> int:
    """A number input as a whole number in low..high (an integral float such as 3.0 counts; 1.5,
    True or text do not), else BadInput `number.not_whole_number` / `number.out_of_range`."""
    if (value is None or value == "") and default is not None:
        return default
    shown = repr(value)[:60]
    number = _whole(value)  # NaN, infinity, 2.5, True, lists and text that is not a number: None
    if number is None:
        raise BadInput(f"{field} must be a whole number, got {shown}.", "number.not_whole_number",
                       field=field, value=shown)
    if not low <= number <= high:
        raise BadInput(f"{field} must be between {low} and {high}, got {shown}.", "number.out_of_range",
                       field=field, value=shown, low=low, high=high)
    return number


def require_id(value: Any, what: str) -> int:
    ident = as_id(value, what)
    if ident is None:
        raise writer_error(current_translator()("choose_" + what.replace(" ", "_")))
    return ident


def _whole(value: Any) -> int | None:
    """`value` as an exact int (3, 3.0, "3"), or None if it is not one (NaN, inf, 2.5, "x", True)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"[+-]?\d{1,19}(\.0*)?", value):
            return None
        value = float(value) if "." in value else int(value)
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        return int(value)
    return value if isinstance(value, int) else None


def as_finite(value: Any, what: str) -> float:
    """A slider's value as a finite float; NaN, infinity and non-numbers are refused by name."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadInput(f"{what} must be a finite number, got {repr(value)[:60]}.", "number.not_finite",
                       field=what, value=repr(value)[:60])
    return float(value)


def as_seed(value: Any) -> int | None:
    """Empty or negative seed means 'let the studio pick one'."""
    if value is None or value == "":
        return None
    seed = as_whole(value, "seed", -(2**63), 2**63 - 1)
    return seed if seed >= 0 else None
