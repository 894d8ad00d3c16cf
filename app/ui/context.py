"""The Context inspector tab: for the next request (preview) or the last one, every section and item that
went into the prompt, with its token count and the reason it was included, trimmed or left out, and a
bar of the token budget used.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any

import gradio as gr

from app.ui.common import Shell, guarded, require_id

TASKS = ["draft", "continue", "branch", "brainstorm", "polish", "summary", "roleplay"]


def _plain(value: Any) -> Any:
    """A ContextPlan (dataclasses, enums, tuples) as plain dicts/lists for rendering."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _first(mapping: dict[str, Any], *names: str, default: Any = "") -> Any:
    return next((mapping[n] for n in names if n in mapping and mapping[n] is not None), default)


def _budget_bar(used: int, budget: int, label: str) -> str:
    share = min(100.0, 100.0 * used / budget) if budget else 0.0
    colour = "#2e7d32" if share < 85 else "#ef6c00" if share < 100 else "#c62828"
    return (f'<div class="budget"><div>{html.escape(label)}: {used} / {budget} ({share:.0f}%)</div>'
            f'<div style="background:#ddd;height:14px;border-radius:7px" id="budget-bar">'
            f'<div style="width:{share:.1f}%;background:{colour};height:14px;border-radius:7px"></div></div></div>')


def _item_rows(items: list[Any]) -> str:
    rows = []
    for item in items:
        item = item if isinstance(item, dict) else {"label": str(item)}
        label = _first(item, "label", "title", "name", "kind")
        rows.append(f"<tr><td>{html.escape(str(label))}</td><td>{_first(item, 'tokens', 'token_count', default=0)}"
                    f"</td><td>{html.escape(str(_first(item, 'status', 'decision', 'included')))}</td>"
                    f"<td>{html.escape(str(_first(item, 'reason', 'why')))}</td></tr>")
    return "".join(rows)


def render_plan(shell: Shell, plan: Any) -> str:
    """HTML: a budget bar, then one table per section (items with tokens and reasons)."""
    tr = shell.tr
    if plan is None:
        return f"<p>{html.escape(tr('context_none'))}</p>"
    data = _plain(plan)
    sections = _first(data, "sections", default=[])
    used = int(_first(data, "used_tokens", "total_tokens", "tokens", default=0) or 0)
    if not used:
        used = sum(int(_first(s, "tokens", default=0) or 0) for s in sections if isinstance(s, dict))
    budget = int(_first(data, "budget", "budget_tokens", "max_tokens", "context_budget", default=0) or 0)
    parts = [_budget_bar(used, budget, tr("context_budget"))]
    head = (f"<tr><th>{tr('context_item')}</th><th>{tr('tokens')}</th><th>{tr('context_status')}</th>"
            f"<th>{tr('context_reason')}</th></tr>")
    for section in sections:
        section = section if isinstance(section, dict) else {"name": str(section)}
        name = _first(section, "title", "name", "kind")
        tokens = _first(section, "tokens", default=0)
        parts.append(f"<h4>{html.escape(str(name))} · {tokens} {tr('tokens')}</h4>"
                     f"<table class='context-items'>{head}{_item_rows(_first(section, 'items', default=[]))}</table>")
    return "\n".join(parts)


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_context", id="context"):
        with gr.Row():
            task = tr.make(gr.Dropdown, "context_task", choices=TASKS, value="continue")
            preview = tr.button("context_preview", variant="primary", elem_id="context-preview")
            last = tr.button("context_last", elem_id="context-last")
        shown = gr.HTML(elem_id="context-plan")
    studio = shell.studio

    @guarded
    def preview_context(chapter_id: Any, task_name: str):
        return render_plan(shell, studio.preview_context(require_id(chapter_id, "chapter"), task_name or "continue"))

    @guarded
    def last_context():
        return render_plan(shell, studio.last_context())

    preview.click(preview_context, [shell.chapter, task], [shown], api_name="preview_context")
    last.click(last_context, None, [shown], api_name="last_context")
