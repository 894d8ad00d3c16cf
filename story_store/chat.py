"""Role-play chats: sessions and a parent-linked message tree (siblings are alternatives).

Invariants: a message's parent is in the same session; a session's `current_leaf_id` names one
of its own messages (or None), the tip of the path the writer is looking at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from story_store.errors import ValidationError
from story_store.fields import check_fields, other_project
from story_store.models import ChatMessage, ChatSession, Character
from story_store.records import ChatMessageRecord, ChatSessionRecord, to_record
from story_store.versioning import VersioningMixin

SESSION_FIELDS = ("character_id", "title", "persona_name", "persona_description")
MESSAGE_FIELDS = ("parent_id", "role", "speaker", "text", "status", "seed")


class ChatMixin(VersioningMixin):
    def create_chat_session(self, project_id: int, character_id: int | None = None, title: str = "",
                            persona_name: str = "", persona_description: str = "") -> ChatSessionRecord:
        values = check_fields(ChatSession, ChatSessionRecord, dict(
            character_id=character_id, title=title, persona_name=persona_name,
            persona_description=persona_description), SESSION_FIELDS)
        with self._write() as session:
            self._project(session, project_id)
            row = ChatSession(project_id=project_id, **values)
            self._check_character(session, row, values)
            session.add(row)
            return self._record(session, row, ChatSessionRecord)

    def get_chat_session(self, session_id: int) -> ChatSessionRecord:
        return self._get(ChatSession, ChatSessionRecord, session_id)

    def list_chat_sessions(self, project_id: int, include_deleted: bool = False) -> list[ChatSessionRecord]:
        query = select(ChatSession).where(ChatSession.project_id == project_id).order_by(ChatSession.id)
        if not include_deleted:
            query = query.where(ChatSession.deleted_at.is_(None))
        with self._read() as session:
            self._project(session, project_id)
            return [to_record(row, ChatSessionRecord) for row in session.scalars(query)]

    def update_chat_session(self, session_id: int, **fields: Any) -> ChatSessionRecord:
        return self._update(ChatSession, ChatSessionRecord, session_id, fields, SESSION_FIELDS,
                            check=self._check_character)

    def delete_chat_session(self, session_id: int) -> ChatSessionRecord:
        return self._set_deleted(ChatSession, ChatSessionRecord, session_id, True)

    def restore_chat_session(self, session_id: int) -> ChatSessionRecord:
        return self._set_deleted(ChatSession, ChatSessionRecord, session_id, False)

    # ---- messages ---------------------------------------------------------------------------

    def add_chat_message(self, session_id: int, parent_id: int | None, role: str, speaker: str,
                         text: str, status: str = "done", seed: int | None = None) -> ChatMessageRecord:
        """Append a message under `parent_id` (None = a new root) and make it the session's leaf."""
        values = check_fields(ChatMessage, ChatMessageRecord, dict(
            parent_id=parent_id, role=role, speaker=speaker, text=text, status=status, seed=seed),
            MESSAGE_FIELDS)
        with self._write() as session:
            chat = self._row(session, ChatSession, session_id)
            if parent_id is not None:
                self._own_message(session, session_id, parent_id)
            row = ChatMessage(session_id=session_id, **values)
            session.add(row)
            session.flush()
            chat.current_leaf_id = row.id
            return self._record(session, row, ChatMessageRecord)

    def update_chat_message(self, message_id: int, *, text: str | None = None,
                            status: str | None = None) -> ChatMessageRecord:
        changes = {k: v for k, v in dict(text=text, status=status).items() if v is not None}
        return self._update(ChatMessage, ChatMessageRecord, message_id, changes, ("text", "status"))

    def edit_chat_message(self, message_id: int, text: str, base_version: int | None,
                          author: str = "") -> ChatMessageRecord:
        """The writer's edit of a message's text: versioned (ConflictError when `base_version` is not
        the message's `version`) and kept in history. A message still streaming is refused."""
        with self._read() as session:
            streaming = self._row(session, ChatMessage, message_id).status == "streaming"
        if streaming:
            raise ValidationError(f"chat message {message_id} is still being written; stop it first",
                                  code="chat.message_streaming", id=message_id)
        return self._versioned_update("chat_message", message_id, {"text": text}, ("text",), base_version,
                                      "user", author)

    def get_chat_message(self, message_id: int) -> ChatMessageRecord:
        return self._get(ChatMessage, ChatMessageRecord, message_id)

    def list_chat_messages(self, session_id: int) -> list[ChatMessageRecord]:
        """Every message of the session (all branches), oldest first."""
        query = select(ChatMessage).where(ChatMessage.session_id == session_id).order_by(ChatMessage.id)
        with self._read() as session:
            self._row(session, ChatSession, session_id)
            return [to_record(row, ChatMessageRecord) for row in session.scalars(query)]

    def chat_path(self, session_id: int, leaf_id: int | None = None) -> list[ChatMessageRecord]:
        """The messages from the root down to `leaf_id` (None = the session's current leaf)."""
        with self._read() as session:
            chat = self._row(session, ChatSession, session_id)
            leaf = chat.current_leaf_id if leaf_id is None else leaf_id
            if leaf is None:
                return []
            self._own_message(session, session_id, leaf)
            # Recursive CTE walking parent links upward: one query whatever the depth.
            up = select(ChatMessage.id, ChatMessage.parent_id).where(ChatMessage.id == leaf).cte(
                "path", recursive=True)
            parent = aliased(ChatMessage)
            up = up.union_all(select(parent.id, parent.parent_id).where(parent.id == up.c.parent_id))
            rows = session.scalars(select(ChatMessage).join(up, ChatMessage.id == up.c.id)
                                   .order_by(ChatMessage.id))
            path = {row.id: row for row in rows}
            ordered: list[ChatMessage] = []
            cursor: int | None = leaf
            while cursor is not None:
                ordered.append(path[cursor])
                cursor = path[cursor].parent_id
            return [to_record(row, ChatMessageRecord) for row in reversed(ordered)]

    def chat_siblings(self, message_id: int) -> list[ChatMessageRecord]:
        """The alternatives of a message: same session and parent, by id, itself included."""
        with self._read() as session:
            message = self._row(session, ChatMessage, message_id)
            parent = (ChatMessage.parent_id.is_(None) if message.parent_id is None
                      else ChatMessage.parent_id == message.parent_id)
            query = (select(ChatMessage).where(ChatMessage.session_id == message.session_id, parent)
                     .order_by(ChatMessage.id))
            return [to_record(row, ChatMessageRecord) for row in session.scalars(query)]

    def set_chat_leaf(self, session_id: int, leaf_id: int | None) -> ChatSessionRecord:
        """Show the path ending at `leaf_id` (a message of this session, or None for none)."""
        with self._write() as session:
            chat = self._row(session, ChatSession, session_id)
            if leaf_id is not None:
                self._own_message(session, session_id, leaf_id)
            chat.current_leaf_id = leaf_id
            return self._record(session, chat, ChatSessionRecord)

    # ---- helpers ----------------------------------------------------------------------------

    def _own_message(self, session: Session, session_id: int, message_id: int) -> ChatMessage:
        message = self._row(session, ChatMessage, message_id)
        if message.session_id != session_id:
            raise ValidationError("store.other_chat_session", id=message_id)
        return message

    def _check_character(self, session: Session, chat: ChatSession, values: Mapping[str, Any]) -> None:
        character_id = values.get("character_id")
        if character_id is not None and (
                self._row(session, Character, character_id).project_id != chat.project_id):
            raise other_project("characters", character_id)
