"""Versioned field groups in the UI: the hidden version of each group, refusals rendered in the
writer's language, and a small History panel (pick an earlier version, restore it) next to a group.

Invariants:
- a tab keeps, per field group, the version its fields were loaded at (`gr.State`) and passes it as
  `base_version` with every save; a refused save (SaveConflict) leaves the fields as typed and says
  who saved when and what changed;
- a refusal with a code (`StudioError.code`) is shown from the string table ("err_" + code) with its
  values; one without falls back to its message;
- restoring is a save based on the shown version, so a stale tab cannot restore over newer text.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import gradio as gr

from app.studio import SaveConflict, StudioError
from app.ui.common import Shell
from app.ui.inputs import BadInput, as_id, require_id
from app.ui.translator import writer_error
from app.ui.strings import STRINGS

Values = Callable[[Any], Sequence[Any]]  # record -> the values of the group's components


def refusal(shell: Shell, exc: Exception) -> str:
    """The writer-language text of a refused action (coded StudioError / ValueError, else its message)."""
    code = getattr(exc, "code", "")
    key = f"err_{code}"
    plain = shell.tr.text(exc)  # a catalogue Message in the writer's language, else its text
    if not code or key not in STRINGS:
        return plain
    values = dict(getattr(exc, "values", {}) or {})
    if isinstance(exc, SaveConflict):
        values = _conflict_values(shell, values)
    entity = f"entity_{values.get('entity', '')}"
    if entity in STRINGS:
        values["entity"] = shell.tr(entity)
    try:
        return shell.tr(key, **values)
    except (KeyError, IndexError, ValueError):
        return plain


def _conflict_values(shell: Shell, values: dict[str, Any]) -> dict[str, Any]:
    tr, kind, group = shell.tr, str(values.get("kind", "")), str(values.get("field_group", ""))
    saved_at = values.get("saved_at")
    source = str(values.get("saved_source") or "user")
    who = tr(f"source_{source}") if f"source_{source}" in STRINGS else source
    if values.get("saved_by"):
        who = f"{who}, {values['saved_by']}"
    fields = values.get("changed_fields") or []
    what = tr(f"what_{kind}", id=values.get("record_id")) if f"what_{kind}" in STRINGS else kind
    if f"group_{group}" in STRINGS:
        what = f"{what} ({tr(f'group_{group}')})"
    return {**values, "what": what, "who": who, "fields": ", ".join(map(str, fields)) or "—",
            "when": saved_at.strftime("%Y-%m-%d %H:%M:%S UTC") if isinstance(saved_at, datetime) else "?",
            "base": values.get("base_version"), "current": values.get("current_version"),
            "added": values.get("added", 0), "removed": values.get("removed", 0)}


def coded(shell: Shell) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Like `common.guarded`, with refusals rendered by `refusal` in the writer's language."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except (StudioError, ValueError, BadInput) as exc:  # BadInput: a refused id or number
                raise writer_error(refusal(shell, exc)) from None  # escaped, titled in the writer's language

        return wrapper

    return decorate


def as_version(value: Any) -> int | None:
    """The hidden version a tab sends back: a whole number >= 0, or None before anything was loaded."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise StudioError(f"not a version: {value!r}", code="number.not_whole_number", field="base_version",
                          value=repr(value)[:60])
    return value


@dataclass
class FieldHistory:
    """The History panel of one field group: its hidden version, the versions list and Restore."""

    kind: str
    group: str
    version: gr.State
    picker: gr.Dropdown
    restore: gr.Button


def history_panel(shell: Shell, kind: str, group: str, elem_id: str) -> FieldHistory:
    """Build the panel (collapsed) where it is called; the version state travels with the tab."""
    tr = shell.tr
    version = gr.State(None)
    with tr.make(gr.Accordion, f"history_of_{group}", open=False, elem_id=f"{elem_id}-history"):
        with gr.Row():
            picker = tr.make(gr.Dropdown, "history", choices=[], value=None, scale=4, allow_custom_value=True,
                             elem_id=f"{elem_id}-versions")  # the studio checks the version is of this record
            restore = tr.button("history_restore", size="sm", scale=1, elem_id=f"{elem_id}-restore")
    return FieldHistory(kind, group, version, picker, restore)


def revision_choices(shell: Shell, kind: str, record_id: Any, group: str) -> list[tuple[str, int]]:
    """The group's saved versions, newest first, labelled "v3 · when · who"."""
    ident = as_id(record_id)
    if ident is None:
        return []
    tr = shell.tr
    return [(tr("history_entry", version=r.version, when=f"{r.created_at:%Y-%m-%d %H:%M:%S}",
                who=tr(f"source_{r.source}") if f"source_{r.source}" in STRINGS else r.source), r.id)
            for r in shell.studio.history.list_revisions(kind, ident, group)]


def loaded(shell: Shell, panel: FieldHistory, record: Any, version: int) -> tuple[Any, Any]:
    """(version state, versions dropdown update) for a record just opened or saved (None: nothing)."""
    if record is None:
        return None, gr.update(choices=[], value=None)
    return version, gr.update(choices=revision_choices(shell, panel.kind, record.id, panel.group), value=None)


def wire_restore(shell: Shell, panel: FieldHistory, record_input: Any, outputs: Sequence[Any], values: Values,
                 version_of: Callable[[Any], int], status: Any, api_name: str) -> Any:
    """Restore wiring: [record id, chosen version, shown version] -> [*outputs, version, versions, status];
    returns the event (for a `.then`)."""
    studio, tr = shell.studio, shell.tr

    @coded(shell)
    def restore(record_id: Any, revision_id: Any, shown_version: Any):
        ident = require_id(record_id, panel.kind)
        chosen = as_id(revision_id)
        if chosen is None:
            raise gr.Error(tr("history_pick"))
        base = as_version(shown_version)
        restored = studio.history.get_revision(chosen).version
        record = studio.history.restore(chosen, 0 if base is None else base, panel.kind, ident)
        new_version, choices = loaded(shell, panel, record, version_of(record))
        return (*values(record), new_version, choices, tr("history_restored", version=restored, current=new_version))

    return panel.restore.click(restore, [record_input, panel.picker, panel.version],
                               [*outputs, panel.version, panel.picker, status], api_name=api_name)


def adopt_model_save(shell: Shell, panel: FieldHistory, record: Any, shown_version: Any,
                     version: int) -> tuple[Any, Any]:
    """(version state, versions update) after the tab's own generation saved the group (a summary, the
    status after a draft): adopted only when that model save is the one save since the tab's version;
    otherwise both are skipped, so a later save of the tab is refused as stale, as it must be."""
    shown = shown_version if isinstance(shown_version, int) and not isinstance(shown_version, bool) else None
    if record is None or shown is None or version != shown + 1:
        return gr.skip(), gr.skip()
    newest = shell.studio.history.list_revisions(panel.kind, record.id, panel.group)
    if not newest or newest[0].source != "ai" or newest[0].version != version:
        return gr.skip(), gr.skip()
    return loaded(shell, panel, record, version)
