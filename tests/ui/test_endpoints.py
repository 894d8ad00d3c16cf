"""Each main endpoint driven through gradio_client against the real launched app; persistence is
checked through the studio (counts, versions, files), never the random model's text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError


def value(output):
    """The value of a component output (updates arrive as {"__type__": "update", "value": ...})."""
    if isinstance(output, dict) and output.get("__type__") == "update":
        return output.get("value")
    return output


def message_text(message: dict) -> str:
    """A Chatbot message's text (Gradio 6 sends content as a list of {"type": "text"} parts)."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if part.get("type") == "text")


def new_project(client, make_fast, title="青云志", language="zh") -> int:
    project_id = value(client.predict(title, language, "仙侠", "少年入山门。", "简洁", api_name="/create_project")[0])
    make_fast(project_id)
    return project_id


def new_chapter(client, project_id: int, title="第一章", outline="主角拜师") -> int:
    return value(client.predict(project_id, title, outline, api_name="/add_chapter")[0])


def run_stream(client, *args, api_name: str):
    """Submit a streamed endpoint; returns (every update seen, final outputs)."""
    job = client.submit(*args, api_name=api_name)
    final = job.result(timeout=120)
    return job.outputs(), final


def test_projects_create_rename_trash_restore(running, client, make_fast):
    studio = running.studio
    project_id = new_project(client, make_fast, title="Trash test", language="en")
    assert studio.library.get_project(project_id).language == "en"
    table, listing = client.predict(api_name="/list_projects")
    assert [project_id, "Trash test", "en"] in listing and "Trash test" in table

    client.predict(project_id, "Renamed", api_name="/rename_project")
    assert studio.library.get_project(project_id).title == "Renamed"

    _, _, trash = client.predict(project_id, api_name="/delete_project")
    assert project_id not in [p.id for p in studio.library.list_projects()]
    assert f"project:{project_id}" in [c[1] for c in trash["choices"]]

    client.predict(f"project:{project_id}", None, api_name="/restore_item")
    assert project_id in [p.id for p in studio.library.list_projects()]


def test_bad_input_is_a_clear_message_and_changes_nothing(running, client, make_fast):
    before = len(running.studio.library.list_projects())
    with pytest.raises(AppError, match=r"(?i)title"):
        client.predict("", "zh", "", "", "", api_name="/create_project")
    with pytest.raises(AppError, match="Choose a chapter"):
        client.predict(None, "text", api_name="/save_chapter")
    assert len(running.studio.library.list_projects()) == before


def test_characters_cards_and_lore_round_trip(running, client, make_fast, tmp_path: Path):
    studio = running.studio
    project_id = new_project(client, make_fast)
    sheet = ["林远", "小林, 远哥", True, "青衫少年", "沉静", "清瘦", "孤儿", "寡言", "在下林远。", "", "山门"]
    character_id = value(client.predict(project_id, *sheet, api_name="/add_character"))
    (character,) = studio.library.list_characters(project_id)
    assert (character.id, character.name, character.aliases, character.pinned) == (
        character_id, "林远", ["小林", "远哥"], True)
    assert character.greeting == "在下林远。"
    loaded = client.predict(character_id, api_name="/open_character")
    assert loaded[0] == "林远" and loaded[2] is True

    client.predict(project_id, character_id, "林远", "", False, *sheet[3:], api_name="/update_character")
    assert studio.library.get_character(character_id).pinned is False

    card = client.predict(character_id, "json", api_name="/export_card")
    assert json.loads(Path(card).read_text("utf-8"))["data"]["name"] == "林远"
    imported = value(client.predict(project_id, handle_file(card), api_name="/import_card"))
    assert len(studio.library.list_characters(project_id)) == 2 and imported != character_id

    bad = tmp_path / "broken.json"
    bad.write_text("{not json", "utf-8")
    with pytest.raises(AppError):
        client.predict(project_id, handle_file(str(bad)), api_name="/import_card")
    assert len(studio.library.list_characters(project_id)) == 2

    lore = ["青云山", "九峰环抱。", "青云\n山门", "", "and_any", "before_char", False, True, False, False, False,
            False, True, 100, 4, 100]
    entry_id = value(client.predict(project_id, *lore, api_name="/add_lore"))
    (entry,) = studio.library.list_lore(project_id)
    assert (entry.id, entry.keys, entry.content) == (entry_id, ["青云", "山门"], "九峰环抱。")
    assert (entry.enabled, entry.prevent_recursion, entry.exclude_recursion) == (True, True, False)
    book = client.predict(project_id, api_name="/export_lorebook")
    client.predict(project_id, handle_file(book), api_name="/import_lorebook")
    assert len(studio.library.list_lore(project_id)) == 2


def test_lore_linked_to_a_character_through_the_form_goes_out_with_its_card(running, client, make_fast):
    studio = running.studio
    project_id = new_project(client, make_fast)
    sheet = ["林远", "", False, "青衫少年", "", "", "", "", "", "", ""]
    hero = value(client.predict(project_id, *sheet, api_name="/add_character"))
    other = value(client.predict(project_id, "萧长风", *sheet[1:], api_name="/add_character"))
    form = ["青冥剑", "林远的佩剑。", "青冥剑", "", "and_any", "before_char", False, True, False, False, False,
            False, False, 100, 4, 100]
    entry_id = value(client.predict(project_id, *form, [hero], api_name="/add_lore"))
    opened = client.predict(project_id, entry_id, api_name="/open_lore")
    assert opened[-1]["value"] == [hero] and {v for _, v in opened[-1]["choices"]} == {hero, other}
    titles = lambda character: [e["comment"] for e in json.loads(Path(client.predict(  # noqa: E731
        character, "json", api_name="/export_card")).read_text("utf-8"))["data"].get("character_book", {}).get(
        "entries", [])]
    assert (titles(hero), titles(other)) == (["青冥剑"], [])
    client.predict(project_id, entry_id, *form, [other], api_name="/update_lore")
    assert (titles(hero), titles(other)) == ([], ["青冥剑"])
    with pytest.raises(AppError, match="character"):
        client.predict(project_id, entry_id, *form, ["not an id"], api_name="/update_lore")
    assert studio.library.linked_characters(studio.library.list_lore(project_id)[0]) == [other]


def test_lore_keys_one_per_line_survive_a_save_unchanged(running, client, make_fast):
    studio = running.studio
    project_id = new_project(client, make_fast)
    keys, secondary = ["/a{1,3}/i", "青云, 山门", "  spaced  "], ["/x,y/", "甲，乙"]
    form = ["regex", "c", "\n".join(keys) + "\n\n", "\n".join(secondary), "and_any", "before_char", False, True,
            False, False, False, False, False, 100, 4, 100]
    entry_id = value(client.predict(project_id, *form, api_name="/add_lore"))
    entry = studio.library.list_lore(project_id)[0]
    assert (entry.keys, entry.secondary_keys) == (["/a{1,3}/i", "青云, 山门", "spaced"], secondary)
    shown_keys, shown_secondary = "\n".join(entry.keys), "\n".join(entry.secondary_keys)  # as the form shows them
    client.predict(project_id, entry_id, "regex", "c", shown_keys, shown_secondary, *form[4:],
                   api_name="/update_lore")
    again = studio.library.list_lore(project_id)[0]
    assert (again.id, again.keys, again.secondary_keys) == (entry_id, entry.keys, entry.secondary_keys)


def test_chapters_add_rename_reorder_delete_and_revisions(running, client, make_fast):
    studio = running.studio
    project_id = new_project(client, make_fast)
    first, second = new_chapter(client, project_id, "甲"), new_chapter(client, project_id, "乙")
    client.predict(project_id, second, "乙·改", "draft", api_name="/rename_chapter")
    assert (studio.chapters.get_chapter(second).title, studio.chapters.get_chapter(second).status) == ("乙·改", "draft")
    client.predict(project_id, second, 1, api_name="/move_chapter")
    assert [c.id for c in studio.chapters.list_chapters(project_id)] == [second, first]
    opened = client.predict(second, api_name="/open_chapter")
    assert opened[:3] == ("乙·改", "draft", 1)

    client.predict(second, "v1", api_name="/save_chapter")
    _, _, revisions = client.predict(second, "v2", api_name="/save_chapter")
    older = [value for label, value in revisions["choices"] if label.startswith("v1")][0]
    editor, _, _ = client.predict(second, older, "v2", api_name="/restore_revision")
    assert editor == "v1" and studio.chapters.get_chapter(second).version == 3

    client.predict(project_id, first, api_name="/delete_chapter")
    assert [c.id for c in studio.chapters.list_chapters(project_id)] == [second]


def test_second_client_save_is_refused_and_first_text_survives(running, client, make_fast):
    from serving import studio_client

    studio = running.studio
    chapter_id = new_chapter(client, new_project(client, make_fast))
    other = studio_client(running.url)
    try:
        client.predict(chapter_id, api_name="/open_chapter")
        other.predict(chapter_id, api_name="/open_chapter")
        _, status, _ = client.predict(chapter_id, "first tab text", api_name="/save_chapter")
        assert "1" in status
        text, status, _ = other.predict(chapter_id, "stale tab text", api_name="/save_chapter")
        assert "saved elsewhere" in status and "⚠" in status  # the conflict message, not a success
        chapter = studio.chapters.get_chapter(chapter_id)
        assert (chapter.text, chapter.version) == ("first tab text", 1)
        assert [r.version for r in studio.chapters.list_revisions(chapter_id)] == [1]
    finally:
        other.close()


def test_draft_streams_and_persists_then_continue_appends(running, client, make_fast):
    studio = running.studio
    chapter_id = new_chapter(client, new_project(client, make_fast))
    client.predict(chapter_id, api_name="/open_chapter")
    updates, (editor, status, *_) = run_stream(client, chapter_id, "", 7, api_name="/draft")
    assert len(updates) >= 2  # text streamed in before the final update
    chapter = studio.chapters.get_chapter(chapter_id)
    assert chapter.text and editor == chapter.text and chapter.version == 1
    _, (editor, *_) = run_stream(client, chapter_id, editor, 8, api_name="/continue")
    after = studio.chapters.get_chapter(chapter_id)
    assert after.version == 2 and after.text.startswith(chapter.text) and editor == after.text
    # the editor's base version followed the generation, so a save now succeeds
    _, status, _ = client.predict(chapter_id, after.text + "。", api_name="/save_chapter")
    assert studio.chapters.get_chapter(chapter_id).version == 3 and "⚠" not in status


def test_same_seed_same_draft_text(running, client, make_fast):
    first = new_chapter(client, new_project(client, make_fast, title="同种子"))
    second = new_chapter(client, new_project(client, make_fast, title="同种子"))
    run_stream(client, first, "", 42, api_name="/draft")
    run_stream(client, second, "", 42, api_name="/draft")
    studio = running.studio
    assert studio.chapters.get_chapter(first).text == studio.chapters.get_chapter(second).text != ""


def test_three_branches_accept_one_records_preferences(running, client, make_fast):
    studio, store = running.studio, running.store
    project_id = new_project(client, make_fast)
    chapter_id = new_chapter(client, project_id)
    client.predict(chapter_id, api_name="/open_chapter")
    client.predict(chapter_id, "开篇。", api_name="/save_chapter")
    _, final = run_stream(client, chapter_id, 3, 11, api_name="/branch")
    texts, ids = final[:4], final[4:8]
    assert [i is not None for i in ids] == [True, True, True, False] and texts[3] == ""
    (group,) = studio.branches.list_branches(chapter_id)
    assert sorted(p.id for p in group) == sorted(ids[:3])

    editor, status, _, _ = client.predict(chapter_id, ids[1], "开篇。", api_name="/accept_branch_2")
    chapter = studio.chapters.get_chapter(chapter_id)
    assert chapter.version == 2 and editor == chapter.text
    assert chapter.text == "开篇。" + texts[1]  # the chosen branch continues the chapter
    assert len(store.list_preferences(project_id)) == 2

    _, (new_text, new_id) = run_stream(client, ids[0], 5, api_name="/regenerate_branch")
    assert new_id not in ids and sum(len(g) for g in studio.branches.list_branches(chapter_id)) == 4


def test_polish_diff_accept_replaces_the_passage(running, client, make_fast):
    studio = running.studio
    chapter_id = new_chapter(client, new_project(client, make_fast))
    client.predict(chapter_id, api_name="/open_chapter")
    client.predict(chapter_id, "山门前，少年独立。风起云涌。", api_name="/save_chapter")
    original = client.predict(chapter_id, "山门前，少年独立。风起云涌。", api_name="/chapter_text")
    _, (revised, diff, status) = run_stream(client, original, "tighten", "", chapter_id, 3, api_name="/polish")
    spans = diff if isinstance(diff, list) else diff.get("value", diff)
    assert "".join(s["token"] for s in spans if s.get("class_or_confidence") != "-") == revised
    # 16 new tokens cannot finish a rewrite: the cut-short polish is refused and shown as such
    assert "(length limit reached)" in status  # the finish reason in words
    *_, refused = client.predict(chapter_id, original, revised, original, api_name="/accept_polish")
    assert "⚠" in refused and "cut short" in refused
    assert studio.chapters.get_chapter(chapter_id).version == 1
    # edited by hand, the result is the writer's own text and is accepted in place of the original
    mine = revised + "。"
    client.predict(original, mine, api_name="/diff")
    client.predict(chapter_id, original, mine, original, api_name="/accept_polish")
    chapter = studio.chapters.get_chapter(chapter_id)
    assert chapter.version == 2 and chapter.text == mine

    empty_result, _ = client.predict("", api_name="/reject_polish")
    assert empty_result == ""
    # a cut-short polish that is rejected teaches nothing: no preference is recorded from its truncated text
    project_id = studio.chapters.get_chapter(chapter_id).project_id
    run_stream(client, mine, "tighten", "", chapter_id, 4, api_name="/polish")
    assert client.predict(mine, api_name="/reject_polish")[0] == ""
    assert studio.style.preference_count(project_id) == 0


def test_polish_of_a_repeated_passage_needs_its_place(running, client, make_fast):
    studio = running.studio
    chapter_id = new_chapter(client, new_project(client, make_fast))
    client.predict(chapter_id, api_name="/open_chapter")
    client.predict(chapter_id, "风起。云涌。风起。", api_name="/save_chapter")
    client.predict("风起。", "风停。", api_name="/diff")  # pasted by hand: no offset into the chapter
    *_, refused = client.predict(chapter_id, "风起。", "风停。", "风起。云涌。风起。", api_name="/accept_polish")
    assert "⚠" in refused and "2" in refused
    assert studio.chapters.get_chapter(chapter_id).text == "风起。云涌。风起。"


def test_summary_context_and_sampling(running, client, make_fast):
    studio = running.studio
    project_id = new_project(client, make_fast)
    chapter_id = new_chapter(client, project_id)
    client.predict(chapter_id, api_name="/open_chapter")
    client.predict(chapter_id, "少年拜入青云门下，第一日便遇见了师姐。", api_name="/save_chapter")
    _, (summary, status, *_) = run_stream(client, project_id, chapter_id, 9, api_name="/summarize")
    assert summary.strip() and studio.chapters.get_chapter(chapter_id).summary == summary.strip()
    assert status == "✓ Summary saved."  # said only because the studio saved it (the final update's chapter)
    client.predict(project_id, chapter_id, "编辑过的摘要", api_name="/save_summary")
    assert studio.chapters.get_chapter(chapter_id).summary == "编辑过的摘要"

    plan = client.predict(chapter_id, "continue", api_name="/preview_context")
    assert 'id="budget-bar"' in plan and "<table" in plan and "token-estimate-note" not in plan  # exact counts
    assert "<table" in client.predict(api_name="/last_context")

    client.predict(project_id, 0.5, 0.8, 30, 0.05, 1.1, api_name="/set_sampling")
    params = studio.settings.sampling_defaults(project_id)
    assert (params.temperature, params.top_k, params.repetition_penalty) == (0.5, 30, 1.1)
    assert client.predict(project_id, api_name="/sampling_defaults")[2] == 30
    assert "tiny-xverse" in client.predict(api_name="/engine_info")


def test_roleplay_turn_regenerate_switch_edit(running, client, make_fast):
    studio = running.studio
    project_id = new_project(client, make_fast)
    sheet = ["沈砚秋", "", False, "书铺掌柜", "温和", "", "", "", "客官请进。", "", "旧书铺"]
    character_id = value(client.predict(project_id, *sheet, api_name="/add_character"))
    session, history, _ = client.predict(project_id, character_id, "旅人", "远道而来", api_name="/chat_start")
    session_id = value(session)
    assert [message_text(m) for m in history] == ["客官请进。"]

    _, (history, cleared, position) = run_stream(client, session_id, "有什么书？", 3, api_name="/chat_turn")
    assert len(history) == 3 and cleared == "" and position == "1/1"
    assert len(studio.roleplay.chat_transcript(session_id)) == 3
    first_reply = studio.roleplay.chat_transcript(session_id)[-1]

    _, (history, position) = run_stream(client, session_id, -1, 4, api_name="/chat_regenerate")
    assert position == "2/2" and studio.roleplay.chat_transcript(session_id)[-1].id != first_reply.id
    history, position = client.predict(session_id, -1, -1, api_name="/chat_previous")
    assert position == "1/2" and studio.roleplay.chat_transcript(session_id)[-1].id == first_reply.id

    client.predict(session_id, 1, "改过的问题", api_name="/chat_edit")
    assert studio.roleplay.chat_transcript(session_id)[1].text == "改过的问题"
    assert [s.id for s in studio.roleplay.list_chats(project_id)] == [session_id]

    _, history = client.predict(project_id, session_id, 0, api_name="/chat_branch")
    assert len(history) == 1 and len(studio.roleplay.chat_transcript(session_id)) == 1
    run_stream(client, session_id, "换个话题。", 6, api_name="/chat_turn")
    new_question = studio.roleplay.chat_transcript(session_id)[1]
    assert new_question.text == "换个话题。" and studio.roleplay.alternative_position(new_question.id) == (2, 2)


def test_export_markdown_and_import_manuscript(running, client, make_fast, tmp_path: Path):
    studio = running.studio
    project_id = new_project(client, make_fast, title="导出之书")
    for title, text in (("第一章 入山", "山门在云中。"), ("第二章 拜师", "师父不语。")):
        chapter_id = new_chapter(client, project_id, title)
        client.predict(chapter_id, api_name="/open_chapter")
        client.predict(chapter_id, text, api_name="/save_chapter")
    path = Path(client.predict(project_id, None, "book", "md", True, True, api_name="/export_book"))
    exported = path.read_text("utf-8")
    assert exported.index("## 第一章 入山") < exported.index("山门在云中。") < exported.index("## 第二章 拜师")
    assert list(running.export_dir.glob("*.md"))

    manuscript = tmp_path / "manuscript.md"
    manuscript.write_text("第一章 起\n\n甲。\n\n第二章 承\n\n乙。\n\n第三章 转\n\n丙。\n", "utf-8")
    target = new_project(client, make_fast, title="导入之书")
    preview = client.predict(handle_file(str(manuscript)), api_name="/preview_manuscript")
    assert "3" in preview and "UTF-8" in preview and studio.chapters.list_chapters(target) == []
    status, chapters, project = client.predict(target, handle_file(str(manuscript)), "append",
                                               api_name="/import_manuscript")
    assert "3" in status and len(studio.chapters.list_chapters(target)) == 3
    assert value(chapters) == studio.chapters.list_chapters(target)[0].id and value(project) == target
    gbk = tmp_path / "旧稿.txt"
    gbk.write_bytes("第一章 起\n甲。\n第二章 承\n乙。\n第三章 转\n丙。\n".encode("gbk"))
    assert "GB18030" in client.predict(handle_file(str(gbk)), api_name="/preview_manuscript")
    _, _, created = client.predict(target, handle_file(str(gbk)), "new", api_name="/import_manuscript")
    assert value(created) != target and len(studio.chapters.list_chapters(value(created))) == 3


def test_stop_cancels_the_draft_and_keeps_what_was_streamed(running, client, make_fast):
    import time

    studio, store = running.studio, running.store
    project_id = new_project(client, make_fast)
    studio.library.update_project(project_id, settings={"max_new_tokens": {"draft": 512}})
    chapter_id = new_chapter(client, project_id)
    job = client.submit(chapter_id, "", 1, api_name="/draft")
    deadline = time.monotonic() + 60
    while not any(out and out[0] for out in job.outputs()) and time.monotonic() < deadline:
        time.sleep(0.05)
    client.predict(api_name="/stop_writing")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the passage is finalised first, then the chapter takes its text
        (passage,) = [p for p in store.list_passages(project_id, chapter_id) if p.task == "draft"]
        if passage.status != "streaming" and studio.chapters.get_chapter(chapter_id).version > 0:
            break
        time.sleep(0.1)
    assert (passage.status, passage.finish_reason) == ("cancelled", "cancelled")
    assert passage.text and studio.chapters.get_chapter(chapter_id).text == passage.text.lstrip("\n")


def test_generating_saves_unsaved_editor_text_first_and_a_stale_tab_generates_nothing(running, client, make_fast):
    from serving import studio_client

    studio, store = running.studio, running.store
    project_id = new_project(client, make_fast)
    chapter_id = new_chapter(client, project_id)
    client.predict(chapter_id, api_name="/open_chapter")
    client.predict(chapter_id, "v1", api_name="/save_chapter")
    _, (editor, *_) = run_stream(client, chapter_id, "v1 and more, typed but not saved", 2, api_name="/continue")
    revisions = studio.chapters.list_revisions(chapter_id)
    assert [(r.version, r.source, r.text) for r in revisions][1] == (2, "user", "v1 and more, typed but not saved")
    chapter = studio.chapters.get_chapter(chapter_id)
    assert chapter.version == 3 and chapter.text.startswith("v1 and more, typed but not saved") and editor == chapter.text

    other = studio_client(running.url)
    try:
        other.predict(chapter_id, api_name="/open_chapter")
        client.predict(chapter_id, chapter.text + "!", api_name="/save_chapter")  # the first tab moves on
        passages = len(store.list_passages(project_id, chapter_id))
        _, (_, status, *_) = run_stream(other, chapter_id, "stale tab text", 3, api_name="/draft")
        assert "⚠" in status and "saved elsewhere" in status
        assert len(store.list_passages(project_id, chapter_id)) == passages  # nothing generated
        assert studio.chapters.get_chapter(chapter_id).text == chapter.text + "!"
    finally:
        other.close()


def test_stop_stops_only_this_sessions_run_and_the_editor_gets_the_final_chapter(running, client, make_fast):
    import time

    from serving import studio_client

    studio, store = running.studio, running.store
    project_id = new_project(client, make_fast)
    studio.library.update_project(project_id, settings={"max_new_tokens": {"continue": 2000}})
    chapter_id = new_chapter(client, project_id)
    client.predict(chapter_id, api_name="/open_chapter")
    other = studio_client(running.url)  # connected first: the run may not outlast a connect
    job = client.submit(chapter_id, "开篇。", 1, api_name="/continue")

    def passage():
        found = [p for p in store.list_passages(project_id, chapter_id) if p.task == "continue"]
        return found[0] if found else None

    deadline = time.monotonic() + 60
    while not (passage() and passage().text) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        other.predict(api_name="/stop_writing")  # another browser session's Stop
    finally:
        other.close()
    seen = len(passage().text)
    deadline = time.monotonic() + 60
    while len(passage().text) <= seen and passage().status == "streaming" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(passage().text) > seen  # still writing after the other session's Stop

    client.predict(api_name="/stop_writing")
    editor, status, *_ = job.result(timeout=120)
    chapter = studio.chapters.get_chapter(chapter_id)
    assert (passage().status, passage().finish_reason) == ("cancelled", "cancelled")
    assert editor == chapter.text and chapter.text.startswith("开篇。") and len(chapter.text) > len("开篇。")
    assert "Stopped" in status  # the desk says the run was stopped and its text kept
    _, status, _ = client.predict(chapter_id, chapter.text + "。", api_name="/save_chapter")
    assert "⚠" not in status and studio.chapters.get_chapter(chapter_id).version == chapter.version + 1


def test_a_branch_of_another_chapter_is_refused_and_nothing_changes(running, client, make_fast):
    studio = running.studio
    project_id = new_project(client, make_fast)
    first, second = new_chapter(client, project_id, "甲"), new_chapter(client, project_id, "乙")
    client.predict(first, api_name="/open_chapter")
    _, final = run_stream(client, first, 2, 4, api_name="/branch")
    branch_of_first = final[4]
    client.predict(second, api_name="/open_chapter")
    client.predict(second, "乙章正文。", api_name="/save_chapter")
    with pytest.raises(AppError, match="another chapter"):
        client.predict(second, branch_of_first, "乙章正文。", api_name="/accept_passage")
    assert (studio.chapters.get_chapter(second).text, studio.chapters.get_chapter(second).version) == ("乙章正文。", 1)
    assert studio.chapters.get_chapter(first).version == 0
    assert not any(p.accepted for group in studio.branches.list_branches(first) for p in group)
