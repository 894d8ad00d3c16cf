"""Passages, preferences and role-play chats on a real SQLite file."""

from __future__ import annotations

import pytest

from story_store import NotFoundError, Store, ValidationError


@pytest.fixture()
def project_id(store: Store) -> int:
    return store.create_project("A").id


def test_passage_tree_streaming_and_acceptance(store: Store, project_id: int) -> None:
    chapter = store.create_chapter(project_id, "c")
    root = store.create_passage(project_id, chapter_id=chapter.id, text="", status="streaming",
                                task="continue", model_id="tiny", sampling={"temperature": 0.8},
                                seed=2**40, prompt_hash="ab" * 32)
    assert (root.status, root.seed, root.sampling) == ("streaming", 2**40, {"temperature": 0.8})
    for partial in ("他", "他走", "他走了。"):
        streamed = store.update_passage(root.id, text=partial)
    assert (streamed.text, streamed.status) == ("他走了。", "streaming")
    done = store.update_passage(root.id, status="done", finish_reason="eos")
    assert (done.text, done.status, done.finish_reason) == ("他走了。", "done", "eos")
    branches = [store.create_passage(project_id, parent_id=root.id, branch_index=i, text=str(i))
                for i in (1, 0)]
    assert [p.branch_index for p in store.passage_children(root.id)] == [0, 1]
    assert store.set_passage_accepted(branches[1].id).accepted is True
    assert store.set_passage_accepted(branches[1].id, False).accepted is False
    assert [p.id for p in store.list_passages(project_id, chapter_id=chapter.id)] == [root.id]
    assert len(store.list_passages(project_id)) == 3


def test_passage_validation(store: Store, project_id: int) -> None:
    other = store.create_project("B")
    foreign = store.create_passage(other.id, text="x")
    with pytest.raises(ValidationError, match="another project"):
        store.create_passage(project_id, parent_id=foreign.id)
    with pytest.raises(NotFoundError):
        store.create_passage(project_id, chapter_id=999)
    with pytest.raises(ValidationError, match="status"):
        store.create_passage(project_id, status="weird")
    with pytest.raises(ValidationError, match="seed"):
        store.create_passage(project_id, seed=-1)
    with pytest.raises(ValidationError, match="status"):
        store.update_passage(foreign.id, status="bogus")
    with pytest.raises(NotFoundError):
        store.update_passage(12345, text="x")
    assert store.list_passages(project_id) == []
    assert store.get_passage(foreign.id).text == "x"


def test_bulk_insert_is_all_or_nothing(store: Store, project_id: int) -> None:
    chapter = store.create_chapter(project_id, "c")
    rows = [{"text": f"p{i}", "chapter_id": chapter.id, "seed": i} for i in range(50)]
    assert store.bulk_insert_passages(project_id, rows) == 50
    stored = store.list_passages(project_id)
    assert [p.text for p in stored] == [f"p{i}" for i in range(50)]
    assert stored[7].seed == 7 and stored[7].origin == "ai" and stored[7].sampling == {}
    with pytest.raises(ValidationError, match="unknown field"):
        store.bulk_insert_passages(project_id, [{"text": "ok"}, {"txt": "typo"}])
    with pytest.raises(NotFoundError):
        store.bulk_insert_passages(project_id, [{"text": "ok"}, {"chapter_id": 999}])
    assert len(store.list_passages(project_id)) == 50
    assert store.bulk_insert_passages(project_id, []) == 0


def test_preferences(store: Store, project_id: int) -> None:
    chosen = store.create_passage(project_id, text="good")
    rejected = store.create_passage(project_id, text="bad")
    preference = store.record_preference(project_id, "prompt", chosen.id, rejected.id)
    assert store.list_preferences(project_id) == [preference]
    assert (preference.chosen_passage_id, preference.rejected_passage_id) == (chosen.id, rejected.id)
    with pytest.raises(ValidationError, match="differ"):
        store.record_preference(project_id, "p", chosen.id, chosen.id)
    with pytest.raises(NotFoundError):
        store.record_preference(project_id, "p", chosen.id, 999)
    assert len(store.list_preferences(project_id)) == 1


def test_chat_session_crud_and_trash(store: Store, project_id: int) -> None:
    hero = store.create_character(project_id, "林风")
    chat = store.create_chat_session(project_id, hero.id, title="夜谈", persona_name="我")
    assert store.get_chat_session(chat.id) == chat
    renamed = store.update_chat_session(chat.id, title="夜谈二", persona_description="旅人")
    assert (renamed.title, renamed.persona_description) == ("夜谈二", "旅人")
    stranger = store.create_character(store.create_project("B").id, "外人")
    with pytest.raises(ValidationError, match="another project") as refused:
        store.update_chat_session(chat.id, character_id=stranger.id)
    assert f"人物 {stranger.id} 属于另一部作品" in refused.value.render("zh")
    with pytest.raises(ValidationError, match="unknown field"):
        store.update_chat_session(chat.id, current_leaf_id=3)
    store.delete_chat_session(chat.id)
    assert store.list_chat_sessions(project_id) == []
    assert len(store.list_chat_sessions(project_id, include_deleted=True)) == 1
    assert store.restore_chat_session(chat.id).deleted_at is None


def test_chat_tree_paths_siblings_and_leaf(store: Store, project_id: int) -> None:
    chat = store.create_chat_session(project_id)
    hello = store.add_chat_message(chat.id, None, "user", "我", "你好")
    reply_a = store.add_chat_message(chat.id, hello.id, "character", "林风", "嗯。", seed=1)
    follow = store.add_chat_message(chat.id, reply_a.id, "user", "我", "然后呢？")
    reply_b = store.add_chat_message(chat.id, hello.id, "character", "林风", "", status="streaming")
    assert store.get_chat_session(chat.id).current_leaf_id == reply_b.id
    assert [m.id for m in store.chat_path(chat.id)] == [hello.id, reply_b.id]
    assert [m.id for m in store.chat_path(chat.id, follow.id)] == [hello.id, reply_a.id, follow.id]
    assert [m.id for m in store.chat_siblings(reply_a.id)] == [reply_a.id, reply_b.id]
    assert [m.id for m in store.chat_siblings(hello.id)] == [hello.id]
    finished = store.update_chat_message(reply_b.id, text="好。", status="done")
    assert (finished.text, finished.status) == ("好。", "done")
    store.set_chat_leaf(chat.id, follow.id)
    assert [m.text for m in store.chat_path(chat.id)] == ["你好", "嗯。", "然后呢？"]
    assert len(store.list_chat_messages(chat.id)) == 4
    assert store.set_chat_leaf(chat.id, None).current_leaf_id is None
    assert store.chat_path(chat.id) == []


def test_chat_rejects_cross_session_links(store: Store, project_id: int) -> None:
    first = store.create_chat_session(project_id)
    second = store.create_chat_session(project_id)
    message = store.add_chat_message(first.id, None, "user", "me", "hi")
    with pytest.raises(ValidationError, match="another chat session") as refused:
        store.add_chat_message(second.id, message.id, "user", "me", "x")
    assert "属于另一个对话" in refused.value.render("zh")
    with pytest.raises(ValidationError, match="another chat session"):
        store.set_chat_leaf(second.id, message.id)
    with pytest.raises(ValidationError, match="role"):
        store.add_chat_message(first.id, None, "god", "me", "x")
    assert store.list_chat_messages(second.id) == []
    assert store.get_chat_session(second.id).current_leaf_id is None


def test_deep_chat_path_walks_to_the_root(store: Store, project_id: int) -> None:
    chat = store.create_chat_session(project_id)
    parent_id = None
    for i in range(300):
        parent_id = store.add_chat_message(chat.id, parent_id, "user", "me", str(i)).id
    assert [m.text for m in store.chat_path(chat.id)] == [str(i) for i in range(300)]
