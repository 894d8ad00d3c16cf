"""Polish on the desk: the editor's selection is polished in place and reviewed change by change.

The review lists numbered changes (Chinese phrases / English words, `app.studio.changes`); the writer
ticks the ones to take, or accepts all, or rejects the polish. The result stays editable: a hand edit
makes it the writer's text (the review is recomputed against it).

Invariants:
- the original is exactly the selected text at `start` of the (saved) chapter text; accepting replaces
  exactly that occurrence, with the chosen changes applied (`apply_changes`);
- an untouched polish that was cut short is refused by the studio (its passage id is passed); once the
  writer edits it or picks changes by hand it is theirs and is accepted, the cut-short warning staying
  on screen until then;
- the writer's choices on a polish that finished become training preferences (app.studio.feedback):
  accepted, accepted after an edit or in part, rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import gradio as gr

from app.studio import InvalidInput, Piece, SaveConflict, apply_changes, change_numbers, review_changes
from app.ui.common import Shell, as_shown, conflict_message, guarded, stream, sync_editor
from app.ui.inputs import as_seed, require_id
from app.ui.desk import measure
from app.ui.desk.actions import IDLE, RUNNING, run_feedback
from app.ui.desk.branch_strip import MARK_JS
from app.ui.desk.feedback import RunClock, finish_line
from app.ui.views import editor_selection, revision_choices

DIFF_COLORS = {"+": "#2e7d32", "-": "#c62828"}
PREVIEW_CHARS = 24  # of each side of a change in its checkbox label


@dataclass(frozen=True)
class Review:
    original: str
    start: int
    passage_id: int | None
    cut_short: bool
    polished: str  # the model's result, to tell a hand edit from the streamed text
    edited: bool = False


@dataclass
class ReviewPanel:
    group: Any
    result: Any
    diff: Any
    changes: Any
    status: Any
    apply: Any
    accept_all: Any
    reject: Any
    state: Any  # gr.State[Review | None]
    selection: Any  # gr.State[(start, text) | None]
    marked: Any  # hidden Textbox "start:end" of the accepted text


def build(shell: Shell) -> ReviewPanel:
    tr = shell.tr
    with gr.Group(visible=False, elem_id="desk-review") as group:
        tr.markdown("desk_review_heading")
        with gr.Row():
            result = tr.make(gr.Textbox, "polish_result", lines=5, elem_id="desk-polish-result")
            diff = tr.make(gr.HighlightedText, "polish_diff", combine_adjacent=True, show_legend=False,
                           color_map=DIFF_COLORS, elem_id="desk-polish-diff")
        changes = tr.make(gr.CheckboxGroup, "desk_changes", choices=[], elem_id="desk-changes")
        status = gr.Markdown(elem_id="desk-review-status")
        with gr.Row():
            apply = tr.button("desk_apply_changes", variant="primary", size="sm", elem_id="desk-apply-changes")
            accept_all = tr.button("accept_polish", size="sm", elem_id="desk-accept-all")
            reject = tr.button("reject_polish", size="sm", elem_id="desk-reject-polish")
    return ReviewPanel(group, result, diff, changes, status, apply, accept_all, reject, gr.State(None),
                       gr.State(None), gr.Textbox(visible=False, elem_id="desk-polish-marked"))


def _short(text: str) -> str:
    flat = text.replace("\n", "⏎")
    return flat if len(flat) <= PREVIEW_CHARS else flat[:PREVIEW_CHARS - 1] + "…"


def change_choices(pieces: list[Piece]) -> list[tuple[str, int]]:
    return [(f"{p.number}. {_short(p.before) or '∅'} → {_short(p.after) or '∅'}", p.number)
            for p in pieces if p.is_change]


def diff_spans(pieces: list[Piece], chosen: list[int]) -> list[tuple[str, str | None]]:
    """HighlightedText value: kept text, and for each taken change its deletion (-) and insertion (+)."""
    spans: list[tuple[str, str | None]] = []
    for p in pieces:
        if not p.is_change or p.number not in chosen:
            spans.append((p.before, None))
            continue
        spans += [(text, mark) for text, mark in ((p.before, "-"), (p.after, "+")) if text]
    return spans


def _reviewed(original: str, revised: str) -> tuple[list[Piece], Any, Any]:
    pieces = review_changes(original, revised)
    numbers = change_numbers(pieces)
    return pieces, gr.update(choices=change_choices(pieces), value=numbers), diff_spans(pieces, numbers)


def _selected(selection: Any, text: str) -> tuple[int, str] | None:
    if not selection:
        return None
    start, selected = selection
    return (start, selected) if selected and text[start:start + len(selected)] == selected else None


def _polish_stream(shell: Shell, chapter_id: Any, editor_text: str | None, base_version: Any,
                   selection: Any, preset: Any, seed_value: Any, request: gr.Request):
    """(group, result, diff, changes, status, review, version, feedback, stop) updates."""
    studio, tr = shell.studio, shell.tr
    skip9 = [gr.skip()] * 9
    ident = require_id(chapter_id, "chapter")
    try:
        chapter = sync_editor(shell, ident, editor_text, base_version)
    except SaveConflict as conflict:
        message = conflict_message(conflict)
        yield *skip9[:4], message, *skip9[5:8], IDLE
        return
    picked = _selected(selection, chapter.text)
    if picked is None:
        gr.Warning(tr("desk_select_first"))
        yield gr.update(visible=True), *skip9[1:4], tr("desk_select_first"), gr.skip(), chapter.version, \
            gr.skip(), IDLE
        return
    start, original = picked
    clock = RunClock(measure.polish_limit(shell, ident, original))
    # the result box is hidden, not emptied, while streaming: its value changes only once, at the end
    yield gr.update(visible=True), gr.update(visible=False), [], gr.update(choices=[], value=[]), tr("generating"), None, \
        chapter.version, run_feedback(shell, clock, ""), RUNNING
    for update in stream(shell, request, studio.polish.polish(original, preset or None, "", chapter_id=ident,
                                                       seed=as_seed(seed_value))):
        revised = update.texts[0] if update.texts else ""
        if not update.done:  # streamed into the diff view; the editable result is set once, at the end,
            # so every later `change` of the result is the writer's own edit
            yield gr.skip(), gr.skip(), [(revised, None)], gr.skip(), gr.skip(), gr.skip(), gr.skip(), \
                run_feedback(shell, clock, revised), gr.skip()
            continue
        reason = update.finish_reasons[0] if update.finish_reasons else ""
        passage = update.passage_ids[0] if update.passage_ids else None
        _, choices, spans = _reviewed(original, revised)
        said = tr("desk_polish_cut_short") if reason != "stop" else tr("desk_polish_review")
        line = finish_line(tr.language, reason, clock.figures(measure.tokens(shell, revised)), error=update.error,
                           polish=True)
        yield gr.skip(), gr.update(value=revised, visible=True), spans, choices, said, \
            Review(original, start, passage, reason != "stop", revised), \
            gr.skip(), line, IDLE


def wire(shell: Shell, panel: ReviewPanel, bar: Any) -> None:
    tr = shell.tr

    @guarded
    def polish(chapter_id: Any, editor_text: str | None, base_version: Any, selection: Any, preset: Any,
               seed_value: Any, request: gr.Request):
        yield from _polish_stream(shell, chapter_id, editor_text, base_version, selection, preset, seed_value,
                                  request)

    @guarded
    def edited(review: Review | None, revised: str):
        """A hand edit: the result is the writer's text now; the review is recomputed against it."""
        if review is None or as_shown(revised or "") == as_shown(review.polished) and not review.edited:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()  # streamed or shown by the studio, not typed
        _, choices, spans = _reviewed(review.original, revised or "")
        said = tr("desk_polish_edited_cut_short") if review.cut_short else tr("desk_polish_edited")
        return spans, choices, said, replace(review, edited=True)

    @guarded
    def picked(review: Review | None, revised: str, chosen: list[int] | None):
        if review is None:
            return gr.skip()
        return diff_spans(review_changes(review.original, revised or ""), [int(n) for n in chosen or []])

    def take(everything: bool):
        @guarded
        def handler(chapter_id: Any, review: Review | None, revised: str, chosen: list[int] | None,
                    editor_text: str | None, base_version: Any):
            return _take(shell, chapter_id, review, revised, None if everything else chosen, editor_text,
                         base_version)

        return handler

    @guarded
    def reject(review: Review | None):
        """The polish is discarded; a finished one is recorded as the original preferred to it."""
        if review is not None and review.passage_id is not None:
            shell.studio.style.reject_polish(review.passage_id, review.original)
        return gr.update(visible=False), None, tr("desk_polish_rejected")

    def selected(evt: gr.SelectData):
        """The selection Polish will work on, and how much of the editor it is (shown under the bar)."""
        picked = editor_selection(evt)
        return picked, tr("desk_selected", count=len(picked[1])) if picked else ""

    shell.editor.select(selected, None, [panel.selection, bar.selected], api_visibility="private")
    shell.editor.input(lambda: (None, ""), None, [panel.selection, bar.selected], api_visibility="private")
    outputs = [panel.group, panel.result, panel.diff, panel.changes, panel.status, panel.state, shell.version,
               bar.feedback, bar.stop]
    bar.polish.click(polish, [shell.chapter, shell.editor, shell.version, panel.selection, bar.preset, bar.seed],
                     outputs, api_name="desk_polish").then(lambda: IDLE, None, [bar.stop], api_visibility="private")
    # `change`, not `input`: browsers send no input event for IME/CJK text (the handler tells a hand edit
    # from the polish by comparing with the model's result)
    panel.result.change(edited, [panel.state, panel.result], [panel.diff, panel.changes, panel.status, panel.state],
                       api_visibility="private")
    panel.changes.input(picked, [panel.state, panel.result, panel.changes], [panel.diff], api_visibility="private")
    taken = [shell.editor, shell.version, shell.status, shell.revisions, panel.group, panel.status, panel.state,
             panel.marked]
    inputs = [shell.chapter, panel.state, panel.result, panel.changes, shell.editor, shell.version]
    for button, everything in ((panel.apply, False), (panel.accept_all, True)):
        button.click(take(everything), inputs, taken, api_visibility="private").then(
            None, [panel.marked], None, js=MARK_JS)
    panel.reject.click(reject, [panel.state], [panel.group, panel.state, shell.status], api_visibility="private")


def _take(shell: Shell, chapter_id: Any, review: Review | None, revised: str, chosen: list[int] | None,
          editor_text: str | None, base_version: Any):
    """Accept the chosen changes (None: all) into the chapter; a refusal is a message, the review stays."""
    tr, skip = shell.tr, gr.skip()
    if review is None:
        return skip, skip, tr("desk_polish_nothing"), skip, skip, tr("desk_polish_nothing"), skip, skip
    pieces = review_changes(review.original, revised or "")
    numbers = change_numbers(pieces) if chosen is None else [int(n) for n in chosen]
    text = apply_changes(pieces, numbers)
    edited = review.edited or as_shown(revised or "") != as_shown(review.polished)  # what was submitted counts
    untouched = not edited and set(numbers) == set(change_numbers(pieces))
    # With the passage id the studio refuses an untouched cut-short polish and records the writer's choice
    # (accepted; edited or partly taken: the writer's text over the model's). A cut-short polish the
    # writer finished is their own text: no id, nothing to learn from the truncated attempt.
    passage_id = review.passage_id if untouched or not review.cut_short else None
    ident = require_id(chapter_id, "chapter")
    try:
        chapter = sync_editor(shell, ident, editor_text, base_version)
        saved = shell.studio.polish.accept_polish(ident, review.original, text, chapter.version, start=review.start,
                                                  passage_id=passage_id)
    except (SaveConflict, InvalidInput) as refused:
        message = conflict_message(refused)
        return skip, skip, message, skip, skip, message, skip, skip
    said = tr("desk_polish_taken", taken=len(numbers), total=len(change_numbers(pieces)), version=saved.version)
    gr.Info(said)
    span = f"{review.start}:{review.start + len(text)}"
    return (saved.text, saved.version, said, gr.update(choices=revision_choices(shell, ident), value=None),
            gr.update(visible=False), said, None, span)
