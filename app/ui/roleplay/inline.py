"""What the writer does on a chat message itself: the pencil edits it in place; the row under each
character message (Gradio's feedback options, laid out inline by our CSS) moves between its
alternatives (◀ ▶), streams a new one in its place (↻) or branches a new path from it; the header and
each character message show the card's portrait."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import gradio as gr
from gradio import processing_utils, utils
from PIL import Image

from app.ui.roleplay.view import (chat_messages, pick_message, position_label, session_choices, stream_regenerated,
                                  switched)
from app.ui.common import Shell, dropdown_update, guarded
from app.ui.history import loaded
from app.ui.inputs import as_id, require_id
from app.ui.safe_text import md_text, md_unescape
from app.ui.strings import LANGUAGES, t
from app.ui.translator import writer_error

# the actions under each character message, in order: catalogue keys (their labels are the options)
MESSAGE_ACTIONS = ("alt_previous", "alt_next", "chat_regenerate", "branch_chat")

# Gradio puts non-thumb feedback options behind a flag button; show them as a row of small buttons
INLINE_ACTIONS_CSS = """
#chatbot .extra-feedback > button { display: none !important; }
#chatbot .extra-feedback-options { display: flex !important; flex-direction: row !important; gap: 4px;
  position: static !important; box-shadow: none !important; border: none !important; background: none !important; }
#chatbot .extra-feedback-option { font-weight: normal !important; padding: 0 6px; }
"""


def feedback_labels(language: str) -> list[str]:
    return [t(language, key) for key in MESSAGE_ACTIONS]


def edited_text(value: Any) -> str:
    """The text of an inline edit: Gradio sends the message's content (a string, or its text parts)."""
    if isinstance(value, list):
        return "".join(edited_text(part) for part in value)
    if isinstance(value, dict):  # a text part holds the same escaped source as a plain string
        return edited_text(value.get("text") or value.get("content") or "")
    return md_unescape("" if value is None else str(value))


def event_index(index: Any) -> Any:
    """A chat event's message index (Gradio sends an int, or a [row, column] pair)."""
    return index[0] if isinstance(index, (list, tuple)) else index


def wire_inline_edit(shell: Shell, w: dict[str, Any]) -> None:
    """The chat's own edit (the pencil on a message): saved as a new version of that message. If the
    message changed elsewhere since the page showed it, nothing is saved and the writer's text goes
    to the edit box below, with a warning."""
    studio, panel = shell.studio, w["panel"]

    @guarded
    def chat_edit_inline(session_id: Any, edit: gr.EditData):
        ident = require_id(session_id, "chat")
        transcript = studio.roleplay.chat_transcript(ident)
        index = event_index(edit.index)
        if not (isinstance(index, int) and 0 <= index < len(transcript)):
            raise writer_error(shell.tr("bad_message_index", count=len(transcript)))
        target, text = transcript[index], edited_text(edit.value)
        if edited_text(edit.previous_value) != target.text:  # changed in another tab since shown
            warning = shell.tr("chat_edit_stale")
            gr.Warning(warning)
            return (chat_messages(transcript), text, target.id, *loaded(shell, panel, target, target.version),
                    f"⚠ {md_text(warning)}")
        message = studio.roleplay.edit_message(target.id, text, base_version=target.version)
        return (chat_messages(studio.roleplay.chat_transcript(ident)), message.text, message.id,
                *loaded(shell, panel, message, message.version), shell.tr("group_saved", version=message.version))

    w["chatbot"].edit(chat_edit_inline, [w["sessions"]],
                      [w["chatbot"], w["edited"], w["opened"], panel.version, panel.picker, w["edit_status"]],
                      api_visibility="private")


def wire_message_actions(shell: Shell, w: dict[str, Any]) -> None:
    """◀ ▶ ↻ and branch under a character message act on that message; the message index box and the
    n/m line below the chat follow it. An action applies to the message as the writer saw it: when the
    message at that place has changed since (Gradio sends the option again, with the old text, once the
    chat re-renders; or another tab moved on), or the option came back unselected (empty), nothing
    happens."""
    studio = shell.studio
    action_of = {t(language, key): key for language in LANGUAGES for key in MESSAGE_ACTIONS}

    @guarded
    def chat_message_action(project_id: Any, session_id: Any, seed_value: Any, picked: gr.LikeData,
                            request: gr.Request) -> Iterator[tuple[Any, Any, Any, Any]]:
        action = action_of.get(str(picked.liked or ""))
        index = event_index(picked.index)
        transcript, target = pick_message(shell, session_id, index)
        if action is None or edited_text(picked.value) != target.text:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        if action == "chat_regenerate":
            if target.role != "character":
                raise writer_error(shell.tr("chat_nothing_to_retry"))
            for chat, position in stream_regenerated(shell, session_id, transcript, target, seed_value, request):
                yield chat, position, gr.skip(), index
        elif action == "branch_chat":
            path = studio.roleplay.branch_chat_from(target.id)
            yield (chat_messages(path), position_label(shell, target.id),
                   dropdown_update(session_choices(shell, project_id), session_id), index)
        else:
            yield *switched(shell, transcript, target, -1 if action == "alt_previous" else 1), gr.skip(), index

    w["chatbot"].like(chat_message_action, [shell.project, w["sessions"], w["seed"]],
                      [w["chatbot"], w["position"], w["sessions"], w["index"]], api_visibility="private")


def _avatar_file(png: bytes | None) -> str | None:
    """The portrait as a file in Gradio's own upload cache (named by its content), for avatar_images."""
    if not png:
        return None
    return processing_utils.save_bytes_to_cache(png, "portrait.png", cache_dir=utils.get_upload_folder())


def wire_speakers(shell: Shell, w: dict[str, Any]) -> None:
    """Above the chat: the character's portrait (from its card) and who is talking with whom; the
    portrait is also the avatar of each character message."""
    studio = shell.studio

    @guarded
    def chat_speakers(session_id: Any):
        ident = as_id(session_id)
        if ident is None:
            return gr.update(value=None, visible=False), "", gr.update(avatar_images=(None, None))
        who = studio.roleplay.chat_speakers(ident)
        image = Image.open(io.BytesIO(who.portrait_png)) if who.portrait_png else None
        return (gr.update(value=image, visible=image is not None),
                shell.tr("chat_speakers", character=md_text(who.character), user=md_text(who.user)),
                gr.update(avatar_images=(None, _avatar_file(who.portrait_png))))

    w["sessions"].change(chat_speakers, [w["sessions"]], [w["portrait"], w["speakers"], w["chatbot"]],
                         api_visibility="private")
