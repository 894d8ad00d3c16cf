"""The Branches tab: 2–4 continuations streamed side by side (one prefill), accept one into the chapter,
regenerate any branch, and revisit earlier branch groups (every passage is kept in the tree).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.studio import SaveConflict
from app.ui.common import Shell, conflict_message, guarded, stream, sync_editor, wire_stop
from app.ui.inputs import as_id, as_seed, as_whole, require_id
from app.ui.views import RANKING_KEYS, ranking_headers, ranking_rows, reasons_text, saved_outputs

MAX_SHOWN = 4


def _passage_label(shell: Shell, passage: Any) -> str:
    mark = "✓ " if passage.accepted else ""
    snippet = passage.text.replace("\n", " ")[:40]
    tr = shell.tr
    return f"{mark}#{passage.id} · {tr.enum('task', passage.task)} · {tr.enum('passage_status', passage.status)} · {snippet}"


def history_choices(shell: Shell, chapter_id: Any) -> list[tuple[str, int]]:
    ident = as_id(chapter_id)
    if ident is None:
        return []
    return [(_passage_label(shell, p), p.id) for group in shell.studio.branches.list_branches(ident) for p in group]


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_branches", id="branches"):
        with gr.Row():
            count = tr.make(gr.Slider, "branch_count", minimum=2, maximum=MAX_SHOWN, step=1, value=3,
                            elem_id="branch-count")
            seed = tr.make(gr.Number, "seed", precision=None, value=-1)
            run = tr.button("generate_branches", variant="primary", elem_id="generate-branches")
            stop = tr.button("stop", variant="stop", elem_id="stop-branches")
        columns, scores = [], []
        with gr.Row(equal_height=True):
            for i in range(MAX_SHOWN):
                with gr.Column(visible=i < 3, min_width=200) as column:
                    text = tr.make(gr.Textbox, f"branch_{i + 1}", lines=10, interactive=False,
                                   elem_id=f"branch-{i}")
                    passage = gr.Number(visible=False, precision=None, elem_id=f"branch-passage-{i}")
                    accept = tr.button("accept_branch", size="sm", elem_id=f"accept-branch-{i}")
                    again = tr.button("regenerate_branch", size="sm", elem_id=f"regenerate-branch-{i}")
                    score = tr.make(gr.Textbox, "col_score", interactive=False, lines=2, elem_id=f"branch-score-{i}")
                columns.append((column, text, passage, accept, again))
                scores.append(score)
        score_button = tr.button("score_branches", elem_id="score-branches")
        ranking = tr.make(gr.Dataframe, "branch_ranking", headers=ranking_headers(shell), interactive=False,
                          elem_id="branch-ranking")
        tr.with_headers(ranking, RANKING_KEYS)  # the column headers follow a language switch too
        with tr.make(gr.Accordion, "branch_history", open=False):
            history = tr.make(gr.Dropdown, "passage", choices=[], allow_custom_value=True)
            preview = tr.make(gr.Textbox, "passage_text", lines=6, interactive=False)
            accept_old = tr.button("accept_passage")
    _wire_columns(shell, count, seed, run, stop, columns, history, shell.revisions)
    _wire_scores(shell, [c[2] for c in columns], scores, score_button, ranking)
    _wire_history(shell, history, preview, accept_old, shell.revisions)


def _accepter(shell: Shell):
    """Handler: accept a passage into the open chapter, after saving the editor's unsaved text (conflict →
    message, nothing accepted)."""

    @guarded
    def accept(chapter_id: Any, passage_id: Any, editor_text: str | None, base_version: Any):
        ident, studio = require_id(chapter_id, "chapter"), shell.studio
        try:
            chapter = sync_editor(shell, ident, editor_text, base_version)
            chapter = studio.branches.accept_passage(require_id(passage_id, "branch"), chapter.version, chapter_id=ident)
        except SaveConflict as conflict:
            return gr.skip(), gr.skip(), conflict_message(conflict), gr.skip(), gr.skip()
        editor, version, status, revisions = saved_outputs(shell, chapter, "accepted_version")
        return editor, version, status, revisions, gr.update(choices=history_choices(shell, ident), value=None)

    return accept


def _wire_columns(shell: Shell, count, seed, run, stop, columns, history, revisions) -> None:
    studio = shell.studio
    texts, passages = [c[1] for c in columns], [c[2] for c in columns]

    @guarded
    def branch(chapter_id: Any, n: Any, seed_value: Any, request: gr.Request):
        ident, n = require_id(chapter_id, "chapter"), as_whole(n, "branches", 1, MAX_SHOWN, default=3)
        for update in stream(shell, request, studio.branches.branch(ident, n, seed=as_seed(seed_value))):
            shown = list(update.texts) + [""] * (MAX_SHOWN - len(update.texts))
            ids = list(update.passage_ids) + [None] * (MAX_SHOWN - len(update.passage_ids))
            tail = [gr.update(choices=history_choices(shell, ident))] if update.done else [gr.skip()]
            yield *shown, *ids, *tail

    @guarded
    def regenerate(passage_id: Any, seed_value: Any, request: gr.Request):
        ident = require_id(passage_id, "branch")
        for update in stream(shell, request, studio.branches.regenerate_branch(ident, seed=as_seed(seed_value))):
            yield (update.texts[0] if update.texts else ""), (update.passage_ids or (None,))[0]

    def clear_columns(_chapter_id: Any):  # branches of another chapter must not be accepted here
        return [""] * MAX_SHOWN + [None] * MAX_SHOWN

    accept = _accepter(shell)
    accepted = [shell.editor, shell.version, shell.status, revisions, history]
    count.change(lambda n: [gr.update(visible=i < int(n)) for i in range(MAX_SHOWN)], [count],
                 [c[0] for c in columns], api_visibility="private")
    shell.chapter.change(clear_columns, [shell.chapter], [*texts, *passages], api_visibility="private")
    run.click(branch, [shell.chapter, count, seed], [*texts, *passages, history], api_name="branch")
    for i, (_, text, passage, accept_button, again) in enumerate(columns):
        suffix = "" if i == 0 else f"_{i + 1}"
        accept_button.click(accept, [shell.chapter, passage, shell.editor, shell.version], accepted,
                            api_name=f"accept_branch{suffix}")
        again.click(regenerate, [passage, seed], [text, passage], api_name=f"regenerate_branch{suffix}")
    wire_stop(shell, stop)


def _wire_scores(shell: Shell, passages, scores, button, ranking) -> None:
    """Score every shown branch (consistency findings + mean log-likelihood) and list them best first.
    Nothing is hidden: every branch keeps its column."""
    studio = shell.studio

    @guarded
    def rank_branches(chapter_id: Any, *passage_ids: Any):
        ident = require_id(chapter_id, "chapter")
        shown = [as_id(p) for p in passage_ids]
        first = next((p for p in shown if p is not None), None)
        ranked = (studio.consistency.rank_branch_group(first) if first is not None
                  else studio.consistency.rank_latest_branches(ident))
        by_id = {r.passage_id: r for r in ranked}
        labels = [shell.tr("branch_score", score=round(by_id[p].total, 2), reasons=reasons_text(shell, by_id[p]))
                  if p in by_id else "" for p in shown]
        return gr.update(value=ranking_rows(shell, ranked), headers=ranking_headers(shell)), *labels

    inputs, outputs = [shell.chapter, *passages], [ranking, *scores]
    button.click(rank_branches, inputs, outputs, api_name="rank_branches")
    shell.chapter.change(lambda _c: [gr.update(value=[])] + [""] * len(scores), [shell.chapter], outputs,
                         api_visibility="private")


def _wire_history(shell: Shell, history, preview, accept_old, revisions) -> None:
    studio = shell.studio

    @guarded
    def show_passage(chapter_id: Any, passage_id: Any):
        ident, chapter = as_id(passage_id), as_id(chapter_id)
        if ident is None or chapter is None:
            return ""
        found = [p for group in studio.branches.list_branches(chapter) for p in group if p.id == ident]
        return found[0].text if found else ""

    @guarded
    def list_branch_history(chapter_id: Any):
        return gr.update(choices=history_choices(shell, chapter_id), value=None)

    accepted = [shell.editor, shell.version, shell.status, revisions, history]
    shell.chapter.change(list_branch_history, [shell.chapter], [history], api_name="list_branches")
    history.change(show_passage, [shell.chapter, history], [preview], api_visibility="private")
    accept_old.click(_accepter(shell), [shell.chapter, history, shell.editor, shell.version], accepted,
                     api_name="accept_passage")
