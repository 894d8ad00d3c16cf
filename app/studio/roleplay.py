"""Role-play: talk with a character of the book (or an imported card) in a saved, branching chat.

Messages form a tree (parent links); siblings are alternatives of each other and the session's
`current_leaf_id` marks the path on screen. Invariants: the greeting opens every chat (a card's
alternate greetings are its swipes; `{{char}}`/`{{user}}` macros are filled in); a reply
streams into its message (persisted ≥1/s, final status at the end, kept when the generator is
closed); regenerating adds a sibling and shows it; nothing is ever deleted by switching,
editing or branching.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.interchange.cards import stored_portrait
from app.memory.macros import fill_macros
from app.memory.plan import ChatLine
from app.studio.core import RunTarget, StudioCore
from app.studio.errors import InvalidInput
from app.studio.generation import Generation
from app.studio.recipe import PreparedGeneration, prepare_generation
from app.studio.sinks import ChatReplySink
from app.studio.store_seam import translates_store_errors
from story_store.errors import NotFoundError
from story_store.fields import check_input
from prompts import constant_list
from story_store.records import CharacterRecord, ChatMessageRecord, ChatSessionRecord

MAX_CHAT_TEXT = 20_000


def _card_text(character: CharacterRecord, key: str) -> str:
    """A card field kept verbatim in card_data (system_prompt, post_history_instructions), or ""."""
    value = character.card_data.get(key) if isinstance(character.card_data, dict) else None
    return value.strip() if isinstance(value, str) else ""


def _alternate_greetings(character: CharacterRecord) -> list[str]:
    value = character.card_data.get("alternate_greetings") if isinstance(character.card_data, dict) else None
    return [g for g in value if isinstance(g, str)] if isinstance(value, list) else []


@dataclass(frozen=True)
class ChatSpeakers:
    """Who talks in a chat: the character (with its card's portrait, when it came with one) and the writer."""

    character: str
    user: str
    portrait_png: bytes | None


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
            raise InvalidInput("roleplay.other_project")
        chat = store.create_chat_session(project_id, character_id=character_id, title=character.name,
                                         persona_name=persona_name.strip(),
                                         persona_description=persona_description)
        greetings = [fill_macros(g.strip(), char=character.name, user=self._user_name(chat))
                     for g in [character.greeting, *_alternate_greetings(character)] if g.strip()]
        first = None
        for greeting in greetings:  # the alternate greetings are swipes of the first message
            added = store.add_chat_message(chat.id, None, "character", character.name, greeting)
            first = first or added
        if first is not None:
            store.set_chat_leaf(chat.id, first.id)
        return store.get_chat_session(chat.id)

    def list_chats(self, project_id: int) -> list[ChatSessionRecord]:
        return self._core.store.list_chat_sessions(project_id)

    def delete_chat(self, session_id: int) -> None:
        """Move a chat to the trash (restore_item("chat", id) brings it back)."""
        self._core.store.delete_chat_session(session_id)

    def chat_speakers(self, session_id: int) -> ChatSpeakers:
        chat = self._core.store.get_chat_session(session_id)
        try:
            character = self._core.store.get_character(chat.character_id) if chat.character_id else None
        except NotFoundError:  # the character went to the trash: the chat keeps its name
            character = None
        return ChatSpeakers(character.name if character else chat.title, self._user_name(chat),
                            stored_portrait(character) if character else None)

    def chat_transcript(self, session_id: int) -> list[ChatMessageRecord]:
        """The messages on screen: root → current leaf."""
        return self._core.store.chat_path(session_id)

    def chat_turn(self, session_id: int, user_text: str, seed: int | None = None) -> Generation:
        """Add the writer's message and stream the character's reply to it."""
        if not isinstance(user_text, str) or not user_text.strip():
            raise InvalidInput("roleplay.empty_message")
        if len(user_text) > MAX_CHAT_TEXT:
            raise InvalidInput("roleplay.message_too_long", limit=MAX_CHAT_TEXT)
        check_input("chat_message", user_text)  # no lone surrogate reaches the tokenizer
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
            raise InvalidInput("roleplay.only_replies")
        chat = store.get_chat_session(message.session_id)
        path = store.chat_path(chat.id, message.parent_id) if message.parent_id is not None else []
        prepared = self._prepare_reply(chat, self._lines(chat, path), seed)
        return self._core.start(prepared.request, lambda: self._reply_record(chat, message.parent_id, prepared))

    def switch_alternative(self, message_id: int, step: int) -> list[ChatMessageRecord]:
        """Show the previous (step −1) or next (+1) alternative of a message; returns the new path."""
        if isinstance(step, bool) or not isinstance(step, int):
            raise InvalidInput("roleplay.bad_step", step=step)
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

    def edit_message(self, message_id: int, text: str, base_version: int | None = None) -> ChatMessageRecord:
        """The writer's edit, based on the message's `version` (stale: SaveConflict, nothing changes)."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidInput("roleplay.empty_edit")
        check_input("chat_message", text)
        return self._core.store.edit_chat_message(message_id, text, base_version)

    def branch_chat_from(self, message_id: int) -> list[ChatMessageRecord]:
        """Continue the chat from an earlier message: it becomes the leaf; later turns form a new branch."""
        message = self._core.store.get_chat_message(message_id)
        self._core.store.set_chat_leaf(message.session_id, message.id)
        return self._core.store.chat_path(message.session_id)

    def set_knowledge_cutoff(self, session_id: int, chapter: int | None) -> None:
        """Set the chat "as of chapter N": its memory holds only chapters ≤ N, facts and lore known by then."""
        self._core.store.set_chat_cutoff(session_id, chapter)

    def knowledge_cutoff(self, session_id: int) -> int | None:
        return self._core.store.get_chat_cutoff(session_id)

    # --- plumbing --------------------------------------------------------------------------------
    def _user_name(self, chat: ChatSessionRecord) -> str:
        project = self._core.store.get_project(chat.project_id)
        # who the writer is when no persona is named: the template's own word for it ("我", "You")
        return chat.persona_name or str(constant_list(project.language, "roleplay", "default_user_name"))

    def _lines(self, chat: ChatSessionRecord, path: list[ChatMessageRecord]) -> list[ChatLine]:
        user_name = self._user_name(chat)
        return [ChatLine(user_name if m.role == "user" else m.speaker, m.text) for m in path if m.text.strip()]

    def _prepare_reply(self, chat: ChatSessionRecord, lines: list[ChatLine], seed: int | None) -> PreparedGeneration:
        if chat.character_id is None:
            raise InvalidInput("roleplay.character_gone")
        character = self._core.store.get_character(chat.character_id)
        project = self._core.store.get_project(chat.project_id)
        user = self._user_name(chat)
        card = {key: fill_macros(_card_text(character, key), char=character.name, user=user)
                for key in ("system_prompt", "post_history_instructions")}  # used as SillyTavern uses them
        values = {"char_name": character.name, "user_name": user,
                  "persona_description": chat.persona_description.strip(), **card}
        return prepare_generation(self._core, project, "roleplay", values=values, transcript=tuple(lines),
                                  focus_character_ids=(character.id,), seed=seed,
                                  as_of_chapter=self._core.store.get_chat_cutoff(chat.id))

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
