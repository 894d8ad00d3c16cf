"""The Context inspector tab: for the next request (preview) or the last one, every section and item that
went into the prompt, with its token count and the reason it was included, trimmed or left out, and a
bar of the token budget used.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from app.ui.common import Shell, guarded
from app.ui.inputs import require_id

TASKS = ["draft", "continue", "branch", "brainstorm", "summary"]  # shown as enum.task.*


def _budget_bar(used: int, budget: int, label: str) -> str:
    share = min(100.0, 100.0 * used / budget) if budget else 0.0
    colour = "#2e7d32" if share < 85 else "#ef6c00" if share < 100 else "#c62828"
    return (f'<div class="budget"><div>{html.escape(label)}: {used} / {budget} ({share:.0f}%)</div>'
            f'<div style="background:#ddd;height:14px;border-radius:7px" id="budget-bar">'
            f'<div style="width:{share:.1f}%;background:{colour};height:14px;border-radius:7px"></div></div></div>')


def _section_html(shell: Shell, section: Any) -> str:
    tr = shell.tr
    name = html.escape(tr.enum("section", section.name))
    if not section.items:
        return f"<p><b>{name}</b> · {html.escape(tr('context_empty'))}</p>"
    head = (f"<tr><th>{tr('context_item')}</th><th>{tr('tokens')}</th><th>{tr('context_status')}</th>"
            f"<th>{tr('context_reason')}</th></tr>")
    rows = "".join(
        f"<tr><td>{html.escape(tr.text(item.label))}</td><td>{item.tokens}</td>"
        f"<td>{html.escape(tr.enum('decision', item.status))}</td>"
        f"<td>{html.escape(tr.text(item.reason))}</td></tr>" for item in section.items)
    return (f"<h4>{name} · {section.tokens} {tr('tokens')}</h4>"
            f"<table class='context-items'>{head}{rows}</table>")


def render_plan(shell: Shell, plan: Any) -> str:
    """HTML: a budget bar, one table per section (items with tokens, decision and reason), the prompt."""
    tr = shell.tr
    if plan is None:
        return f"<p>{html.escape(tr('context_none'))}</p>"
    parts = [f"<p><b>{html.escape(tr.enum('task', plan.task))}</b> · {html.escape(tr.enum('language', plan.language))}</p>",
             _budget_bar(plan.used_tokens, plan.budget, tr("context_budget"))]
    if not shell.studio.settings.engine_info().token_counts_exact:  # no tokenizer: counts are estimates
        parts.append(f"<p id='token-estimate-note'>⚠ {html.escape(tr('context_estimated'))}</p>")
    parts += [_section_html(shell, section) for section in plan.sections]
    parts.append(f"<details><summary>{html.escape(tr('context_prompt'))}</summary>"
                 f"<pre style='white-space:pre-wrap'>{html.escape(plan.prompt)}</pre></details>")
    return "\n".join(parts)


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_context", id="context"):
        with gr.Row():
            tasks = tr.enum_choices("task", TASKS)
            task = tr.with_choices(tr.make(gr.Dropdown, "context_task", choices=tasks(tr.language), value="continue"),
                                   tasks)
            preview = tr.button("context_preview", variant="primary", elem_id="context-preview")
            last = tr.button("context_last", elem_id="context-last")
        shown = gr.HTML(elem_id="context-plan")
    studio = shell.studio

    @guarded
    def preview_context(chapter_id: Any, task_name: str):
        return render_plan(shell, studio.writing.preview_context(require_id(chapter_id, "chapter"), task_name or "continue"))

    @guarded
    def last_context():
        return render_plan(shell, studio.writing.last_context())

    preview.click(preview_context, [shell.chapter, task], [shown], api_name="preview_context")
    last.click(last_context, None, [shown], api_name="last_context")
