"""Role-play: talk with a character of the book (or an imported card) in a saved, branching chat.

Messages form a tree (parent links); siblings are alternatives of each other and the session's
`current_leaf_id` marks the path on screen. Invariants: the greeting opens every chat; a reply
streams into its message (persisted ≥1/s, final status at the end, kept when the generator is
closed); regenerating adds a sibling and shows it; nothing is ever deleted by switching,
editing or branching.
"""

from __future__ import annotations

from app.memory.plan import ChatLine
from app.studio.core import RunTarget, StudioCore
from app.studio.errors import InvalidInput
from app.studio.generation import Generation
from app.studio.recipe import PreparedGeneration, prepare_generation
from app.studio.sinks import ChatReplySink
from app.studio.store_seam import translates_store_errors
from story_store.records import ChatMessageRecord, ChatSessionRecord

MAX_CHAT_TEXT = 20_000
USER_FALLBACK_NAME = {"zh": "我", "en": "You"}  # who the writer is when no persona is named


@translates_store_errors
class RoleplayService:
    def __init__(self, core: StudioCore) -> None:
        self._core = core

    def start_chat(self, project_id: int, character_id: int, persona_name: str = "",
                   persona_description: str = "") -> ChatSessionRecord:
        """A new saved chat with `character_id`; the character's greeting is its first message."""
        store = self._core.store
        character = store.get_character(character_id)
        if character.project_id != project_id:
            raise InvalidInput("This character belongs to another project.")
        chat = store.create_chat_session(project_id, character_id=character_id, title=character.name,
                                         persona_name=persona_name.strip(),
                                         persona_description=persona_description)
        greeting = character.greeting.strip()
        if greeting:
            store.add_chat_message(chat.id, None, "character", character.name, greeting)
        return store.get_chat_session(chat.id)

    def list_chats(self, project_id: int) -> list[ChatSessionRecord]:
        return self._core.store.list_chat_sessions(project_id)

    def delete_chat(self, session_id: int) -> None:
        """Move a chat to the trash (restore_item("chat", id) brings it back)."""
        self._core.store.delete_chat_session(session_id)

    def chat_transcript(self, session_id: int) -> list[ChatMessageRecord]:
        """The messages on screen: root → current leaf."""
        return self._core.store.chat_path(session_id)

    def chat_turn(self, session_id: int, user_text: str, seed: int | None = None) -> Generation:
        """Add the writer's message and stream the character's reply to it."""
        if not isinstance(user_text, str) or not user_text.strip():
            raise InvalidInput("Write a message first.")
        if len(user_text) > MAX_CHAT_TEXT:
            raise InvalidInput(f"A message may hold at most {MAX_CHAT_TEXT:,} characters.")
        store = self._core.store
        chat = store.get_chat_session(session_id)
        user_name = self._user_name(chat)
        lines = [*self._lines(chat, store.chat_path(session_id)), ChatLine(user_name, user_text.strip())]
        prepared = self._prepare_reply(chat, lines, seed)

        def records() -> RunTarget:
            user = store.add_chat_message(session_id, chat.current_leaf_id, "user", user_name, user_text.strip())
            return self._reply_record(chat, user.id, prepared)

        return self._core.start(prepared.request, records)

    def regenerate_reply(self, message_id: int, seed: int | None = None) -> Generation:
        """A new alternative of a character's message (a sibling), which becomes the one shown."""
        store = self._core.store
        message = store.get_chat_message(message_id)
        if message.role != "character":
            raise InvalidInput("Only the character's replies can be regenerated; edit your own messages instead.")
        chat = store.get_chat_session(message.session_id)
        path = store.chat_path(chat.id, message.parent_id) if message.parent_id is not None else []
        prepared = self._prepare_reply(chat, self._lines(chat, path), seed)
        return self._core.start(prepared.request, lambda: self._reply_record(chat, message.parent_id, prepared))

    def switch_alternative(self, message_id: int, step: int) -> list[ChatMessageRecord]:
        """Show the previous (step −1) or next (+1) alternative of a message; returns the new path."""
        if isinstance(step, bool) or not isinstance(step, int):
            raise InvalidInput(f"Step between alternatives with -1 or +1, not {step!r}.")
        siblings = self._core.store.chat_siblings(message_id)
        index = [m.id for m in siblings].index(message_id)
        target = siblings[max(0, min(len(siblings) - 1, index + step))]
        leaf = self._newest_leaf_under(target)
        self._core.store.set_chat_leaf(target.session_id, leaf)
        return self._core.store.chat_path(target.session_id)

    def alternative_position(self, message_id: int) -> tuple[int, int]:
        """(1-based position, number of alternatives), e.g. (2, 3) for "2/3"."""
        siblings = self._core.store.chat_siblings(message_id)
        return [m.id for m in siblings].index(message_id) + 1, len(siblings)

    def edit_message(self, message_id: int, text: str) -> ChatMessageRecord:
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("A message cannot be empty; regenerate or branch instead.")
        return self._core.store.update_chat_message(message_id, text=text)

    def branch_chat_from(self, message_id: int) -> list[ChatMessageRecord]:
        """Continue the chat from an earlier message: it becomes the leaf; later turns form a new branch."""
        message = self._core.store.get_chat_message(message_id)
        self._core.store.set_chat_leaf(message.session_id, message.id)
        return self._core.store.chat_path(message.session_id)

    # --- plumbing --------------------------------------------------------------------------------
    def _user_name(self, chat: ChatSessionRecord) -> str:
        project = self._core.store.get_project(chat.project_id)
        return chat.persona_name or USER_FALLBACK_NAME.get(project.language, "You")

    def _lines(self, chat: ChatSessionRecord, path: list[ChatMessageRecord]) -> list[ChatLine]:
        user_name = self._user_name(chat)
        return [ChatLine(user_name if m.role == "user" else m.speaker, m.text) for m in path if m.text.strip()]

    def _prepare_reply(self, chat: ChatSessionRecord, lines: list[ChatLine], seed: int | None) -> PreparedGeneration:
        if chat.character_id is None:
            raise InvalidInput("This chat's character no longer exists; start a new chat.")
        character = self._core.store.get_character(chat.character_id)
        project = self._core.store.get_project(chat.project_id)
        values = {"char_name": character.name, "user_name": self._user_name(chat),
                  "persona_description": chat.persona_description.strip()}
        return prepare_generation(self._core, project, "roleplay", values=values, transcript=tuple(lines),
                                  focus_character_ids=(character.id,), seed=seed)

    def _reply_record(self, chat: ChatSessionRecord, parent_id: int | None,
                      prepared: PreparedGeneration) -> RunTarget:
        """The records step of a reply: an empty "streaming" character message under `parent_id`."""
        store = self._core.store
        speaker = store.get_character(chat.character_id).name if chat.character_id is not None else ""
        reply = store.add_chat_message(chat.id, parent_id, "character", speaker, "", status="streaming",
                                       seed=prepared.seed)
        return RunTarget(ChatReplySink(store, reply.id), message_id=reply.id)

    def _newest_leaf_under(self, message: ChatMessageRecord) -> int:
        """Follow the newest child down from `message` to a leaf."""
        children: dict[int, int] = {}
        for m in self._core.store.list_chat_messages(message.session_id):
            if m.parent_id is not None:
                children[m.parent_id] = max(children.get(m.parent_id, 0), m.id)
        leaf = message.id
        while leaf in children:
            leaf = children[leaf]
        return leaf
