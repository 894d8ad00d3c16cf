"""What the Role-play tab shows of a chat: the Chatbot value of a transcript, the saved-chat choices, the
message at a transcript index, its "n/m" alternative position, another alternative shown in its place, and
a regenerated reply streamed in place.

Messages are addressed by their index in the current transcript (root → leaf); -1 means the last one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from app.ui.common import Shell, stream
from app.ui.inputs import as_id, as_seed, as_whole, require_id
from app.ui.safe_text import md_text
from app.ui.translator import writer_error


def chat_messages(records: list[Any]) -> list[dict[str, str]]:
    """Chatbot value (messages format): the user on the right, the character/narrator on the left; the
    text is shown as text (safe_text.md_text), never as HTML."""
    return [{"role": "user" if m.role == "user" else "assistant", "content": md_text(m.text)} for m in records]


def session_choices(shell: Shell, project_id: Any) -> list[tuple[str, int]]:
    ident = as_id(project_id)
    if ident is None:
        return []
    return [(f"{s.title or '#' + str(s.id)} · {s.updated_at:%m-%d %H:%M}", s.id)
            for s in shell.studio.roleplay.list_chats(ident)]


def pick_message(shell: Shell, session_id: Any, index: Any) -> tuple[list[Any], Any]:
    """(transcript, the message at `index`) of a session; index -1 is the last message."""
    transcript = shell.studio.roleplay.chat_transcript(require_id(session_id, "chat"))
    if not transcript:
        raise writer_error(shell.tr("chat_empty"))
    i = as_whole(index, "message index", -(2**31), 2**31 - 1, default=-1)
    if not -len(transcript) <= i < len(transcript):
        raise writer_error(shell.tr("bad_message_index", count=len(transcript)))
    return transcript, transcript[i]


def position_label(shell: Shell, message_id: int) -> str:
    current, count = shell.studio.roleplay.alternative_position(message_id)
    return f"{current}/{count}"  # the studio counts from 1


def switched(shell: Shell, transcript: list[Any], target: Any, step: int) -> tuple[list[dict[str, str]], str]:
    """Show the previous (step -1) or next (+1) alternative of `target`: (chatbot, its n/m position)."""
    path = shell.studio.roleplay.switch_alternative(target.id, step)
    return chat_messages(path), position_label(shell, path[transcript.index(target)].id)


def stream_regenerated(shell: Shell, session_id: Any, transcript: list[Any], target: Any, seed_value: Any,
                       request: gr.Request) -> Iterator[tuple[Any, Any]]:
    """Stream a new alternative of `target` (a character message) in its place: (chatbot, position)."""
    studio = shell.studio
    cut = transcript.index(target)
    before = chat_messages(transcript[:cut])
    for update in stream(shell, request, studio.roleplay.regenerate_reply(target.id, seed=as_seed(seed_value))):
        if update.done:
            fresh = studio.roleplay.chat_transcript(require_id(session_id, "chat"))
            yield chat_messages(fresh), position_label(shell, fresh[cut].id if cut < len(fresh) else fresh[-1].id)
        else:
            yield before + [{"role": "assistant", "content": md_text(update.texts[0])}], gr.skip()
