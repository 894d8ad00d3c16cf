"""The branches strip under the editor: 2–4 continuations streamed side by side (one prefill), each with
Accept and Regenerate; accepting says which branch was taken and where it went, and marks it in the editor.

Invariants: the strip only holds branches of the open chapter (cleared when the chapter changes); an
accepted branch's column says so, and accepting a sibling afterwards swaps it (the studio's rule);
`marked` carries "start:end" of the accepted text in the chapter for the editor's selection mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from app.studio import SaveConflict
from app.ui.common import Shell, conflict_message, guarded, stream, sync_editor
from app.ui.inputs import as_seed, as_whole, require_id
from app.ui.desk import measure
from app.ui.desk.actions import IDLE, RUNNING, done_feedback, run_feedback
from app.ui.desk.feedback import RunClock
from app.ui.views import revision_choices

MAX_SHOWN = 4

# Select the accepted text in the editor, scroll to it and focus it: the chapter shows what was added.
MARK_JS = """
(span) => {
  const area = document.querySelector('#editor textarea');
  const [a, b] = String(span || '').split(':').map(Number);
  if (!area || !(b > a)) { return []; }
  area.focus();
  area.setSelectionRange(a, b);
  const ratio = a / Math.max(1, area.value.length);
  area.scrollTop = ratio * area.scrollHeight - area.clientHeight / 3;
  return [];
}
"""


@dataclass
class Strip:
    group: Any
    columns: list[tuple[Any, Any, Any, Any, Any]]  # (column, text, passage id, accept, regenerate)
    marked: Any  # hidden Textbox "start:end"


def build(shell: Shell) -> Strip:
    tr = shell.tr
    columns = []
    with gr.Group(visible=False, elem_id="desk-branch-strip") as group:
        tr.markdown("desk_branches_heading")
        with gr.Row(equal_height=True):
            for i in range(MAX_SHOWN):
                with gr.Column(visible=i < 3, min_width=180) as column:
                    text = tr.make(gr.Textbox, f"branch_{i + 1}", lines=8, interactive=False,
                                   elem_id=f"desk-branch-{i}")
                    passage = gr.Number(visible=False, precision=None)
                    with gr.Row():
                        accept = tr.button("accept_branch", size="sm", variant="primary",
                                           elem_id=f"desk-accept-{i}")
                        again = tr.button("regenerate_branch", size="sm", elem_id=f"desk-regenerate-{i}")
                columns.append((column, text, passage, accept, again))
    marked = gr.Textbox(visible=False, elem_id="desk-marked")
    return Strip(group, columns, marked)


def accepted_span(before: str, after: str) -> tuple[int, int]:
    """Where the accepted text sits in `after`: past the common prefix with `before`, to the end."""
    start = 0
    for a, b in zip(before, after):
        if a != b:
            break
        start += 1
    return start, len(after)


def _accept(shell: Shell, index: int):
    studio, tr = shell.studio, shell.tr

    @guarded
    def accept(chapter_id: Any, passage_id: Any, editor_text: str | None, base_version: Any):
        ident = require_id(chapter_id, "chapter")
        try:
            chapter = sync_editor(shell, ident, editor_text, base_version)
            saved = studio.branches.accept_passage(require_id(passage_id, "branch"), chapter.version, chapter_id=ident)
        except SaveConflict as conflict:
            return gr.skip(), gr.skip(), conflict_message(conflict), gr.skip(), gr.skip(), *[gr.skip()] * MAX_SHOWN
        start, end = accepted_span(chapter.text, saved.text)
        said = tr("desk_branch_accepted", branch=index + 1, start=start + 1, end=end, version=saved.version)
        gr.Info(said)
        labels = [gr.update(value=tr("desk_branch_taken") if i == index else tr("accept_branch"))
                  for i in range(MAX_SHOWN)]
        return (saved.text, saved.version, said, gr.update(choices=revision_choices(shell, ident), value=None),
                f"{start}:{end}", *labels)

    return accept


def wire(shell: Shell, strip: Strip, bar: Any) -> None:
    studio = shell.studio
    texts = [c[1] for c in strip.columns]
    passages = [c[2] for c in strip.columns]
    accepts = [c[3] for c in strip.columns]

    @guarded
    def branch(chapter_id: Any, n: Any, editor_text: str | None, base_version: Any, seed_value: Any,
               request: gr.Request):
        ident, n = require_id(chapter_id, "chapter"), as_whole(n, "branches", 2, MAX_SHOWN, default=3)
        try:
            chapter = sync_editor(shell, ident, editor_text, base_version)
        except SaveConflict as conflict:
            message = conflict_message(conflict)
            yield gr.skip(), *[gr.skip()] * (4 * MAX_SHOWN), gr.skip(), message, gr.skip(), IDLE
            return
        clock = RunClock(measure.limit(shell, ident, "branch"))
        shown = [gr.update(visible=i < n) for i in range(MAX_SHOWN)]
        fresh = [gr.update(value=shell.tr("accept_branch")) for _ in range(MAX_SHOWN)]
        yield gr.update(visible=True), *shown, *[""] * MAX_SHOWN, *[None] * MAX_SHOWN, *fresh, chapter.version, \
            shell.tr("generating"), run_feedback(shell, clock, ""), RUNNING
        for update in stream(shell, request, studio.branches.branch(ident, n, seed=as_seed(seed_value))):
            values = list(update.texts) + [""] * (MAX_SHOWN - len(update.texts))
            ids = list(update.passage_ids) + [None] * (MAX_SHOWN - len(update.passage_ids))
            longest = max(update.texts, key=len, default="")
            line = done_feedback(shell, clock, update, longest) if update.done else run_feedback(shell, clock, longest)
            said = shell.tr("desk_branches_done", n=n) if update.done else gr.skip()
            yield gr.skip(), *[gr.skip()] * MAX_SHOWN, *values, *ids, *[gr.skip()] * MAX_SHOWN, gr.skip(), said, line, \
                (IDLE if update.done else gr.skip())

    @guarded
    def regenerate(passage_id: Any, seed_value: Any, request: gr.Request):
        ident = require_id(passage_id, "branch")
        for update in stream(shell, request, studio.branches.regenerate_branch(ident, seed=as_seed(seed_value))):
            yield (update.texts[0] if update.texts else ""), (update.passage_ids or (None,))[0], \
                (IDLE if update.done else RUNNING)

    def clear(_chapter_id: Any):  # branches of another chapter must not be accepted here
        return gr.update(visible=False), *[""] * MAX_SHOWN, *[None] * MAX_SHOWN

    outputs = [strip.group, *[c[0] for c in strip.columns], *texts, *passages, *accepts, shell.version, shell.status,
               bar.feedback, bar.stop]
    bar.branches.click(branch, [shell.chapter, bar.count, shell.editor, shell.version, bar.seed], outputs,
                       api_name="desk_branch").then(lambda: IDLE, None, [bar.stop], api_visibility="private")
    shell.chapter.change(clear, [shell.chapter], [strip.group, *texts, *passages], api_visibility="private")
    accepted = [shell.editor, shell.version, shell.status, shell.revisions, strip.marked, *accepts]
    for i, (_, text, passage, accept, again) in enumerate(strip.columns):
        accept.click(_accept(shell, i), [shell.chapter, passage, shell.editor, shell.version], accepted,
                     api_name=f"desk_accept_branch_{i + 1}").then(
            None, [strip.marked], None, js=MARK_JS)
        again.click(regenerate, [passage, bar.seed], [text, passage, bar.stop],
                    api_name=f"desk_regenerate_branch_{i + 1}").then(lambda: IDLE, None, [bar.stop],
                                                                      api_visibility="private")
