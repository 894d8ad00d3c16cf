"""The Role-play tab: start a chat with a project character (the greeting opens it) as a persona; stream
replies; regenerate any message into alternatives and move between them; edit any message; branch a
new chat from any message; saved sessions are listed per project.

Messages are addressed by their index in the current transcript (root → leaf); -1 means the last one.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.ui.common import (
    Shell,
    as_id,
    as_seed,
    dropdown_update,
    guarded,
    require_id,
    stream,
    wire_stop,
)
from app.ui.views import character_choices


def chat_messages(records: list[Any]) -> list[dict[str, str]]:
    """Chatbot value (messages format): the user on the right, the character/narrator on the left."""
    return [{"role": "user" if m.role == "user" else "assistant", "content": m.text} for m in records]


def session_choices(shell: Shell, project_id: Any) -> list[tuple[str, int]]:
    ident = as_id(project_id)
    if ident is None:
        return []
    return [(f"{s.title or '#' + str(s.id)} · {s.updated_at:%m-%d %H:%M}", s.id) for s in shell.studio.roleplay.list_chats(ident)]


def build(shell: Shell) -> None:
    tr = shell.tr
    with tr.tab("tab_roleplay", id="roleplay"):
        with gr.Row():
            character = tr.make(gr.Dropdown, "character", choices=[], allow_custom_value=True, elem_id="rp-character")
            persona = tr.make(gr.Textbox, "persona_name")
            persona_text = tr.make(gr.Textbox, "persona_description")
            start = tr.button("chat_start", variant="primary", elem_id="chat-start")
        sessions = tr.make(gr.Dropdown, "chat_sessions", choices=[], allow_custom_value=True, elem_id="chat-sessions")
        chatbot = tr.make(gr.Chatbot, "chat", height=380, buttons=["copy"], elem_id="chatbot")
        with gr.Row():
            message = tr.make(gr.Textbox, "chat_input", scale=4, elem_id="chat-input")
            seed = tr.make(gr.Number, "seed", precision=0, value=-1, scale=1)
            send = tr.button("chat_send", variant="primary", scale=1, elem_id="chat-send")
            stop = tr.button("stop", variant="stop", scale=1)
        with gr.Row():
            index = tr.make(gr.Number, "message_index", value=-1, precision=0, elem_id="message-index")
            previous = tr.button("alt_previous", size="sm", elem_id="alt-previous")
            position = gr.Markdown(elem_id="alt-position")
            following = tr.button("alt_next", size="sm", elem_id="alt-next")
            regenerate = tr.button("chat_regenerate", size="sm", elem_id="chat-regenerate")
        with gr.Row():
            edited = tr.make(gr.Textbox, "edit_text", scale=4)
            edit = tr.button("edit_message", size="sm")
            branch = tr.button("branch_chat", size="sm")
        widgets = dict(character=character, persona=persona, persona_text=persona_text, start=start,
                       sessions=sessions, chatbot=chatbot, message=message, seed=seed, send=send, stop=stop,
                       index=index, previous=previous, position=position, following=following,
                       regenerate=regenerate, edited=edited, edit=edit, branch=branch)
        _wire_sessions(shell, widgets)
        _wire_turns(shell, widgets)
        _wire_alternatives(shell, widgets)


def _pick(shell: Shell, session_id: Any, index: Any) -> tuple[list[Any], Any]:
    """(transcript, the message at `index`) of a session; index -1 is the last message."""
    transcript = shell.studio.roleplay.chat_transcript(require_id(session_id, "chat"))
    if not transcript:
        raise gr.Error(shell.tr("chat_empty"))
    i = int(index if index not in (None, "") else -1)
    if not -len(transcript) <= i < len(transcript):
        raise gr.Error(shell.tr("bad_message_index", count=len(transcript)))
    return transcript, transcript[i]


def _position(shell: Shell, message_id: int) -> str:
    current, count = shell.studio.roleplay.alternative_position(message_id)
    return f"{current}/{count}"  # the studio counts from 1


def _wire_sessions(shell: Shell, w: dict[str, Any]) -> None:
    studio = shell.studio

    @guarded
    def chat_start(project_id: Any, character_id: Any, persona: str, persona_text: str):
        session = studio.roleplay.start_chat(require_id(project_id, "project"), require_id(character_id, "character"),
                                    persona_name=persona or "", persona_description=persona_text or "")
        transcript = studio.roleplay.chat_transcript(session.id)
        position = _position(shell, transcript[-1].id) if transcript else ""
        return dropdown_update(session_choices(shell, project_id), session.id), chat_messages(transcript), position

    @guarded
    def open_chat(session_id: Any):
        ident = as_id(session_id)
        if ident is None:
            return [], ""
        transcript = studio.roleplay.chat_transcript(ident)
        return chat_messages(transcript), (_position(shell, transcript[-1].id) if transcript else "")

    @guarded
    def list_chats(project_id: Any):
        return dropdown_update(session_choices(shell, project_id)), \
            dropdown_update(character_choices(shell, project_id))

    shell.project.change(list_chats, [shell.project], [w["sessions"], w["character"]], api_name="list_chats")
    w["start"].click(chat_start, [shell.project, w["character"], w["persona"], w["persona_text"]],
                     [w["sessions"], w["chatbot"], w["position"]], api_name="chat_start")
    w["sessions"].change(open_chat, [w["sessions"]], [w["chatbot"], w["position"]], api_name="open_chat")


def _wire_turns(shell: Shell, w: dict[str, Any]) -> None:
    studio = shell.studio

    @guarded
    def chat_turn(session_id: Any, text: str, seed_value: Any, request: gr.Request):
        ident = require_id(session_id, "chat")
        if not (text or "").strip():
            raise gr.Error(shell.tr("chat_empty_input"))
        before = chat_messages(studio.roleplay.chat_transcript(ident)) + [{"role": "user", "content": text}]
        for update in stream(shell, request, studio.roleplay.chat_turn(ident, text, seed=as_seed(seed_value))):
            if update.done:
                transcript = studio.roleplay.chat_transcript(ident)
                yield chat_messages(transcript), "", _position(shell, transcript[-1].id)
            else:
                yield before + [{"role": "assistant", "content": update.texts[0]}], "", gr.skip()

    @guarded
    def chat_regenerate(session_id: Any, index: Any, seed_value: Any, request: gr.Request):
        transcript, target = _pick(shell, session_id, index)
        cut = transcript.index(target)
        before = chat_messages(transcript[:cut])
        for update in stream(shell, request, studio.roleplay.regenerate_reply(target.id, seed=as_seed(seed_value))):
            if update.done:
                fresh = studio.roleplay.chat_transcript(require_id(session_id, "chat"))
                yield chat_messages(fresh), _position(shell, fresh[cut].id if cut < len(fresh) else fresh[-1].id)
            else:
                yield before + [{"role": "assistant", "content": update.texts[0]}], gr.skip()

    turn_out = [w["chatbot"], w["message"], w["position"]]
    w["send"].click(chat_turn, [w["sessions"], w["message"], w["seed"]], turn_out, api_name="chat_turn")
    w["message"].submit(chat_turn, [w["sessions"], w["message"], w["seed"]], turn_out, api_visibility="private")
    w["regenerate"].click(chat_regenerate, [w["sessions"], w["index"], w["seed"]], [w["chatbot"], w["position"]],
                          api_name="chat_regenerate")
    wire_stop(shell, w["stop"])


def _wire_alternatives(shell: Shell, w: dict[str, Any]) -> None:
    studio = shell.studio

    @guarded
    def chat_switch(session_id: Any, index: Any, step: Any):
        transcript, target = _pick(shell, session_id, index)
        cut = transcript.index(target)
        path = studio.roleplay.switch_alternative(target.id, int(step))
        return chat_messages(path), _position(shell, path[cut].id)

    @guarded
    def chat_edit(session_id: Any, index: Any, text: str):
        _, target = _pick(shell, session_id, index)
        studio.roleplay.edit_message(target.id, text or "")
        return chat_messages(studio.roleplay.chat_transcript(require_id(session_id, "chat")))

    @guarded
    def chat_branch(project_id: Any, session_id: Any, index: Any):
        _, target = _pick(shell, session_id, index)
        path = studio.roleplay.branch_chat_from(target.id)  # the session's new current path ends at `target`
        return dropdown_update(session_choices(shell, project_id), session_id), chat_messages(path)

    def select_message(evt: gr.SelectData):
        return evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index

    chat_out = [w["chatbot"], w["position"]]
    previous_step, next_step = gr.Number(-1, visible=False), gr.Number(1, visible=False)
    w["previous"].click(chat_switch, [w["sessions"], w["index"], previous_step], chat_out, api_name="chat_previous")
    w["following"].click(chat_switch, [w["sessions"], w["index"], next_step], chat_out, api_name="chat_next")
    w["edit"].click(chat_edit, [w["sessions"], w["index"], w["edited"]], [w["chatbot"]], api_name="chat_edit")
    w["branch"].click(chat_branch, [shell.project, w["sessions"], w["index"]], [w["sessions"], w["chatbot"]],
                      api_name="chat_branch")
    w["chatbot"].select(select_message, None, [w["index"]], api_visibility="private")
