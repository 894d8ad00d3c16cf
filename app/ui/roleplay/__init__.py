"""The Role-play tab: start a chat with a project character (the greeting opens it) as a persona; stream
replies; regenerate any message into alternatives and move between them; edit any message; branch a new
chat from any message; saved sessions are listed per project. The same actions sit on each message
(inline.py) and, for the clicked or numbered message, in the rows under the chat.

Messages are addressed by their index in the current transcript (root → leaf); -1 means the last one.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.ui.roleplay.inline import event_index, feedback_labels, wire_inline_edit, wire_message_actions, wire_speakers
from app.ui.roleplay.view import (chat_messages, pick_message, position_label, session_choices, stream_regenerated,
                                  switched)
from app.ui.common import Shell, dropdown_update, guarded, stream, wire_stop
from app.ui.inputs import as_id, as_seed, as_whole, require_id
from app.ui.translator import writer_error
from app.ui.history import FieldHistory, as_version, coded, history_panel, loaded, wire_restore
from app.ui.safe_text import md_text
from app.ui.views import character_choices


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_roleplay", id="roleplay"):
        with gr.Row():
            character = tr.make(gr.Dropdown, "character", choices=[], allow_custom_value=True, elem_id="rp-character")
            persona = tr.make(gr.Textbox, "persona_name", elem_id="persona-name")
            persona_text = tr.make(gr.Textbox, "persona_description")
            start = tr.button("chat_start", variant="primary", elem_id="chat-start")
        with gr.Row():
            sessions = tr.make(gr.Dropdown, "chat_sessions", choices=[], allow_custom_value=True,
                               elem_id="chat-sessions", scale=4)
            delete = tr.button("chat_delete", size="sm", variant="stop", elem_id="chat-delete", scale=1)
        with gr.Row(equal_height=True):
            portrait = gr.Image(visible=False, show_label=False, interactive=False, height=88, width=88,
                                buttons=[], scale=0, min_width=96, elem_id="chat-portrait")
            speakers = gr.Markdown(elem_id="chat-speakers")
        # editable: the pencil on each message edits it in place (a new version; history below); the
        # feedback options are the actions under each character message (inline.py)
        chatbot = tr.make(gr.Chatbot, "chat", height=380, buttons=["copy"], elem_id="chatbot", editable="all",
                          feedback_options=feedback_labels(tr.language))
        tr.dynamic(chatbot, lambda language: {"feedback_options": feedback_labels(language)})
        with gr.Row():
            message = tr.make(gr.Textbox, "chat_input", scale=4, elem_id="chat-input")
            seed = tr.make(gr.Number, "seed", precision=None, value=-1, scale=1)
            send = tr.button("chat_send", variant="primary", scale=1, elem_id="chat-send")
            stop = tr.button("stop", variant="stop", scale=1)
        with gr.Row():
            index = tr.make(gr.Number, "message_index", value=-1, precision=None, elem_id="message-index")
            previous = tr.button("alt_previous", size="sm", elem_id="alt-previous")
            position = gr.Markdown(elem_id="alt-position")
            following = tr.button("alt_next", size="sm", elem_id="alt-next")
            regenerate = tr.button("chat_regenerate", size="sm", elem_id="chat-regenerate")
        with gr.Row():
            edited = tr.make(gr.Textbox, "edit_text", scale=4, elem_id="chat-edit-text")
            edit = tr.button("edit_message", size="sm", elem_id="chat-edit")
            branch = tr.button("branch_chat", size="sm")
        opened = gr.State(None)  # id of the message loaded into `edited` (its version: panel.version)
        edit_status = gr.Markdown(elem_id="chat-edit-status")
        panel = history_panel(shell, "chat_message", "text", "chat-message")
        _build_cutoff(shell, sessions)
        widgets = dict(character=character, persona=persona, persona_text=persona_text, start=start,
                       sessions=sessions, delete=delete, chatbot=chatbot, message=message, seed=seed, send=send, stop=stop,
                       index=index, previous=previous, position=position, following=following,
                       regenerate=regenerate, edited=edited, edit=edit, branch=branch, opened=opened,
                       edit_status=edit_status, panel=panel, portrait=portrait, speakers=speakers)
        _wire_sessions(shell, widgets)
        _wire_turns(shell, widgets)
        _wire_alternatives(shell, widgets)
        wire_inline_edit(shell, widgets)
        wire_message_actions(shell, widgets)
        wire_speakers(shell, widgets)


def _wire_sessions(shell: Shell, w: dict[str, Any]) -> None:
    studio = shell.studio

    @guarded
    def chat_start(project_id: Any, character_id: Any, persona: str, persona_text: str):
        session = studio.roleplay.start_chat(require_id(project_id, "project"), require_id(character_id, "character"),
                                    persona_name=persona or "", persona_description=persona_text or "")
        transcript = studio.roleplay.chat_transcript(session.id)
        position = position_label(shell, transcript[-1].id) if transcript else ""
        return dropdown_update(session_choices(shell, project_id), session.id), chat_messages(transcript), position

    @guarded
    def open_chat(session_id: Any):
        ident = as_id(session_id)
        if ident is None:
            return [], ""
        transcript = studio.roleplay.chat_transcript(ident)
        return chat_messages(transcript), (position_label(shell, transcript[-1].id) if transcript else "")

    @guarded
    def list_chats(project_id: Any):
        return dropdown_update(session_choices(shell, project_id)), \
            dropdown_update(character_choices(shell, project_id))

    @guarded
    def chat_delete(project_id: Any, session_id: Any):
        studio.roleplay.delete_chat(require_id(session_id, "chat"))  # to the trash: restorable
        gr.Info(shell.tr("chat_deleted"))
        return dropdown_update(session_choices(shell, project_id)), [], ""

    shell.project.change(list_chats, [shell.project], [w["sessions"], w["character"]], api_name="list_chats")
    w["delete"].click(chat_delete, [shell.project, w["sessions"]], [w["sessions"], w["chatbot"], w["position"]],
                      api_name="chat_delete")
    w["start"].click(chat_start, [shell.project, w["character"], w["persona"], w["persona_text"]],
                     [w["sessions"], w["chatbot"], w["position"]], api_name="chat_start")
    w["sessions"].change(open_chat, [w["sessions"]], [w["chatbot"], w["position"]], api_name="open_chat")


def _wire_turns(shell: Shell, w: dict[str, Any]) -> None:
    studio = shell.studio

    @guarded
    def chat_turn(session_id: Any, text: str, seed_value: Any, request: gr.Request):
        ident = require_id(session_id, "chat")
        if not (text or "").strip():
            raise writer_error(shell.tr("chat_empty_input"))
        before = chat_messages(studio.roleplay.chat_transcript(ident)) + [{"role": "user", "content": md_text(text)}]
        for update in stream(shell, request, studio.roleplay.chat_turn(ident, text, seed=as_seed(seed_value))):
            if update.done:
                transcript = studio.roleplay.chat_transcript(ident)
                yield chat_messages(transcript), "", position_label(shell, transcript[-1].id)
            else:
                yield before + [{"role": "assistant", "content": md_text(update.texts[0])}], "", gr.skip()

    @guarded
    def chat_regenerate(session_id: Any, index: Any, seed_value: Any, request: gr.Request):
        transcript, target = pick_message(shell, session_id, index)
        yield from stream_regenerated(shell, session_id, transcript, target, seed_value, request)

    @guarded
    def chat_retry(session_id: Any, seed_value: Any, retried: gr.RetryData, request: gr.Request):
        """The chat's own retry button (on the last reply): a new alternative of the reply to the retried
        message, shown inline; ◀ ▶ move between the alternatives."""
        transcript = studio.roleplay.chat_transcript(require_id(session_id, "chat"))
        index = event_index(retried.index)
        start = index if isinstance(index, int) and 0 <= index < len(transcript) else 0
        reply = next((m for m in transcript[start:] if m.role == "character"), None)
        if reply is None:
            raise writer_error(shell.tr("chat_nothing_to_retry"))
        yield from stream_regenerated(shell, session_id, transcript, reply, seed_value, request)

    turn_out = [w["chatbot"], w["message"], w["position"]]
    w["send"].click(chat_turn, [w["sessions"], w["message"], w["seed"]], turn_out, api_name="chat_turn")
    w["message"].submit(chat_turn, [w["sessions"], w["message"], w["seed"]], turn_out, api_visibility="private")
    w["regenerate"].click(chat_regenerate, [w["sessions"], w["index"], w["seed"]], [w["chatbot"], w["position"]],
                          api_name="chat_regenerate")
    w["chatbot"].retry(chat_retry, [w["sessions"], w["seed"]], [w["chatbot"], w["position"]],
                       api_visibility="private")
    wire_stop(shell, w["stop"])


def _wire_alternatives(shell: Shell, w: dict[str, Any]) -> None:
    studio = shell.studio

    @guarded
    def chat_switch(session_id: Any, index: Any, step: Any):
        transcript, target = pick_message(shell, session_id, index)
        return switched(shell, transcript, target, as_whole(step, "step", -1, 1))

    panel: FieldHistory = w["panel"]

    @coded(shell)
    def chat_open_message(session_id: Any, index: Any):
        """Load a message for editing: its text, id, version and history."""
        _, target = pick_message(shell, session_id, index)
        return (target.text, target.id, *loaded(shell, panel, target, target.version))

    @coded(shell)
    def chat_edit(session_id: Any, index: Any, opened_id: Any, version: Any, text: str):
        """Saves the edit based on the version the message was opened at (stale: refused, text kept)."""
        _, target = pick_message(shell, session_id, index)
        base = as_version(version) if opened_id == target.id else None  # not opened here: nothing to base on
        message = studio.roleplay.edit_message(target.id, text or "", base_version=base)
        return (chat_messages(studio.roleplay.chat_transcript(require_id(session_id, "chat"))), message.id,
                *loaded(shell, panel, message, message.version), shell.tr("group_saved", version=message.version))

    @guarded
    def chat_branch(project_id: Any, session_id: Any, index: Any):
        _, target = pick_message(shell, session_id, index)
        path = studio.roleplay.branch_chat_from(target.id)  # the session's new current path ends at `target`
        return dropdown_update(session_choices(shell, project_id), session_id), chat_messages(path)

    def select_message(evt: gr.SelectData):
        return event_index(evt.index)

    chat_out = [w["chatbot"], w["position"]]
    previous_step, next_step = gr.Number(-1, visible=False), gr.Number(1, visible=False)
    w["previous"].click(chat_switch, [w["sessions"], w["index"], previous_step], chat_out, api_name="chat_previous")
    w["following"].click(chat_switch, [w["sessions"], w["index"], next_step], chat_out, api_name="chat_next")
    w["edit"].click(chat_edit, [w["sessions"], w["index"], w["opened"], panel.version, w["edited"]],
                    [w["chatbot"], w["opened"], panel.version, panel.picker, w["edit_status"]], api_name="chat_edit")
    opened_out = [w["edited"], w["opened"], panel.version, panel.picker]
    gr.Button(visible=False).click(chat_open_message, [w["sessions"], w["index"]], opened_out,
                                   api_name="chat_open_message")
    wire_restore(shell, panel, w["opened"], [w["edited"]], lambda m: [m.text], lambda m: m.version,
                 w["edit_status"], api_name="restore_message_version").then(
        lambda s: chat_messages(studio.roleplay.chat_transcript(require_id(s, "chat"))), [w["sessions"]],
        [w["chatbot"]], api_visibility="private")
    w["branch"].click(chat_branch, [shell.project, w["sessions"], w["index"]], [w["sessions"], w["chatbot"]],
                      api_name="chat_branch")
    w["chatbot"].select(select_message, None, [w["index"]], api_visibility="private").then(
        chat_open_message, [w["sessions"], w["index"]], opened_out, api_visibility="private")


def _build_cutoff(shell: Shell, sessions: Any) -> None:
    """The chat's knowledge cutoff: "as of chapter N" (0: the whole book); the Context tab shows it."""
    tr, studio = shell.tr, shell.studio
    with gr.Row():
        cutoff = tr.make(gr.Number, "knowledge_cutoff", value=0, precision=None, elem_id="chat-cutoff")
        button = tr.button("set_cutoff", size="sm", elem_id="set-cutoff")
        said = tr.make(gr.Textbox, "set_cutoff", show_label=False, interactive=False, elem_id="cutoff-status")

    @guarded
    def set_knowledge_cutoff(session_id: Any, chapter: Any):
        number = as_whole(chapter, "chapter", 0, 2**31 - 1, default=0)
        studio.roleplay.set_knowledge_cutoff(require_id(session_id, "chat"), number if number > 0 else None)
        return tr("cutoff_set", chapter=number) if number > 0 else tr("cutoff_cleared")

    def shown_cutoff(session_id: Any):
        ident = as_id(session_id)
        return (studio.roleplay.knowledge_cutoff(ident) or 0) if ident is not None else 0

    button.click(set_knowledge_cutoff, [sessions, cutoff], [said], api_name="set_knowledge_cutoff")
    sessions.change(shown_cutoff, [sessions], [cutoff], api_visibility="private")


