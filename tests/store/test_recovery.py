"""After a crash: rows left `streaming` become `interrupted`, keep their text, and nothing else changes."""

from __future__ import annotations


def test_streaming_passages_and_messages_become_interrupted(store):
    project = store.create_project("稿", language="zh")
    chapter = store.create_chapter(project.id, title="第一章")
    live = store.create_passage(project.id, chapter_id=chapter.id, text="写到一半", task="draft", status="streaming")
    done = store.create_passage(project.id, chapter_id=chapter.id, text="写完了", task="draft", status="done")
    stopped = store.create_passage(project.id, chapter_id=chapter.id, text="停", task="draft", status="cancelled")
    chat = store.create_chat_session(project.id)
    said = store.add_chat_message(chat.id, None, "user", "我", "你好", status="done")
    reply = store.add_chat_message(chat.id, said.id, "character", "她", "你也", status="streaming")

    recovered = store.mark_interrupted()

    assert (recovered.passages, recovered.messages) == (1, 1)
    after = store.get_passage(live.id)
    assert (after.status, after.text, after.finish_reason) == ("interrupted", "写到一半", "interrupted")
    assert store.get_passage(done.id).status == "done" and store.get_passage(stopped.id).status == "cancelled"
    messages = {m.id: m for m in store.list_chat_messages(chat.id)}
    assert (messages[reply.id].status, messages[reply.id].text) == ("interrupted", "你也")
    assert messages[said.id].status == "done"
    assert store.mark_interrupted().passages == 0  # idempotent
