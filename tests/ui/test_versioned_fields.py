"""Two browser sessions (two gradio_clients) on one record of each kind: the stale second save is
refused with a message in the writer's language, the first text survives and is in the History panel,
and restoring from it works; bad ids and numbers are refused at the endpoint and change nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from serving import studio_client

from app.studio import InvalidInput
from test_endpoints import new_chapter, new_project, run_stream, value


@dataclass(frozen=True)
class Group:
    """How a session opens a record, saves one text of it, and reads that text back (from the studio)."""

    name: str
    make: Callable[[Client, Any], tuple[int, int]]  # -> (project id, record id)
    open: Callable[[Client, int, int], Any]
    save: Callable[[Client, int, int, str], Any]
    stored: Callable[[Any, int], str]
    restore_api: str
    record_input: Callable[[int, int], int]  # (project id, record id) -> what the restore endpoint takes
    history_at: int = -1  # which output of `open` is the group's History dropdown


SHEET = ["林远", "小林", False, "原来的小传", "", "", "", "", "", "", ""]
LORE = ["青云山", "原来的设定", "青云", "", "and_any", "before_char", False, True, False, False, False, False,
        False, 100, 4, 100]


def _chapter(client: Client, make_fast: Any) -> tuple[int, int]:
    project_id = new_project(client, make_fast)
    return project_id, new_chapter(client, project_id, "甲", "原来的大纲")


def _character(client: Client, make_fast: Any) -> tuple[int, int]:
    project_id = new_project(client, make_fast)
    return project_id, value(client.predict(project_id, *SHEET, api_name="/add_character"))


def _lore(client: Client, make_fast: Any) -> tuple[int, int]:
    project_id = new_project(client, make_fast)
    return project_id, value(client.predict(project_id, *LORE, api_name="/add_lore"))


def _project(client: Client, make_fast: Any) -> tuple[int, int]:
    project_id = new_project(client, make_fast)
    return project_id, project_id


GROUPS = [
    Group("outline", _chapter, lambda c, p, r: c.predict(r, api_name="/open_chapter"),
          lambda c, p, r, text: c.predict(r, text, api_name="/save_outline"),
          lambda studio, r: studio.chapters.get_chapter(r).outline, "/restore_outline_version", lambda p, r: r),
    Group("title", _chapter, lambda c, p, r: c.predict(r, api_name="/open_chapter"),
          lambda c, p, r, text: c.predict(p, r, text, "draft", api_name="/rename_chapter"),
          lambda studio, r: studio.chapters.get_chapter(r).title, "/restore_chapter_meta_version", lambda p, r: r,
          history_at=-2),  # (gr.State outputs do not reach an API client)
    Group("summary", _chapter, lambda c, p, r: c.predict(p, r, api_name="/open_summary"),
          lambda c, p, r, text: c.predict(p, r, text, api_name="/save_summary"),
          lambda studio, r: studio.chapters.get_chapter(r).summary, "/restore_summary_version", lambda p, r: r),
    Group("character", _character, lambda c, p, r: c.predict(r, api_name="/open_character"),
          lambda c, p, r, text: c.predict(p, r, "林远", "小林", False, text, *SHEET[4:], api_name="/update_character"),
          lambda studio, r: studio.library.get_character(r).description, "/restore_character_version",
          lambda p, r: r),
    Group("lore", _lore, lambda c, p, r: c.predict(p, r, api_name="/open_lore"),
          lambda c, p, r, text: c.predict(p, r, LORE[0], text, *LORE[2:], api_name="/update_lore"),
          lambda studio, r: "", "/restore_lore_version", lambda p, r: r,  # read with _lore_content
          history_at=-2),  # (the last output is the linked-characters chooser)
    Group("project title", _project, lambda c, p, r: c.predict(p, api_name="/open_project_details"),
          lambda c, p, r, text: c.predict(p, text, api_name="/rename_project"),
          lambda studio, r: studio.library.get_project(r).title, "/restore_project_version", lambda p, r: r),
    Group("project synopsis", _project, lambda c, p, r: c.predict(p, api_name="/open_project_details"),
          lambda c, p, r, text: c.predict(p, "青云志", text, "简洁", api_name="/update_project_details"),
          lambda studio, r: studio.library.get_project(r).synopsis, "/restore_project_version", lambda p, r: r),
]


@pytest.fixture()
def other(running):
    c = studio_client(running.url)
    yield c
    c.close()


def _lore_content(studio: Any, project_id: int, entry_id: int) -> str:
    return next(e.content for e in studio.library.list_lore(project_id) if e.id == entry_id)


@pytest.mark.parametrize("group", GROUPS, ids=[g.name for g in GROUPS])
def test_stale_second_session_is_refused_and_the_first_text_is_in_history(running, client, other, make_fast,
                                                                          group: Group):
    studio = running.studio
    project_id, record_id = group.make(client, make_fast)
    read = (lambda: _lore_content(studio, project_id, record_id)) if group.name == "lore" else \
        (lambda: group.stored(studio, record_id))
    original = read()
    group.open(client, project_id, record_id)
    group.open(other, project_id, record_id)
    group.save(client, project_id, record_id, "第一个标签页写的")
    with pytest.raises(AppError, match="Not saved") as refused:
        group.save(other, project_id, record_id, "旧标签页写的")
    assert "the writer" in str(refused.value) and "version 1" in str(refused.value)
    assert read() == "第一个标签页写的"
    # the History panel lists the saved version and the original; restoring the original works
    versions = group.open(client, project_id, record_id)[group.history_at]["choices"]  # the History dropdown
    assert [label.split(" ")[0] for label, _ in versions] == ["v1", "v0"]
    oldest = versions[-1][1]
    restored = client.predict(group.record_input(project_id, record_id), oldest, api_name=group.restore_api)
    assert read() == original
    assert "restored" in restored[-1]
    with pytest.raises(AppError, match="Not saved"):  # the other tab is stale for the restore too
        other.predict(group.record_input(project_id, record_id), oldest, api_name=group.restore_api)


def test_sampling_defaults_conflict_and_restore(running, client, other, make_fast):
    studio = running.studio
    project_id = new_project(client, make_fast)
    client.predict(project_id, api_name="/sampling_defaults")
    other.predict(project_id, api_name="/sampling_defaults")
    client.predict(project_id, 0.5, 0.8, 30, 0.05, 1.1, api_name="/set_sampling")
    with pytest.raises(AppError, match="Not saved"):
        other.predict(project_id, 1.2, 0.7, 10, 0.0, 1.0, api_name="/set_sampling")
    assert studio.settings.sampling_defaults(project_id).top_k == 30
    versions = client.predict(project_id, api_name="/sampling_defaults")[-1]["choices"]
    assert [label.split(" ")[0] for label, _ in versions][:1] == ["v2"]  # make_fast saved v1


def test_chat_message_edit_conflict_and_restore(running, client, other, make_fast):
    studio = running.studio
    project_id = new_project(client, make_fast)
    sheet = ["沈砚秋", "", False, "书铺掌柜", "", "", "", "", "客官请进。", "", ""]
    character_id = value(client.predict(project_id, *sheet, api_name="/add_character"))
    session_id = value(client.predict(project_id, character_id, "旅人", "", api_name="/chat_start")[0])
    run_stream(client, session_id, "有什么书？", 3, api_name="/chat_turn")
    client.predict(session_id, 1, api_name="/chat_open_message")
    other.predict(session_id, 1, api_name="/chat_open_message")
    client.predict(session_id, 1, "改过的问题", api_name="/chat_edit")
    with pytest.raises(AppError, match="Not saved"):
        other.predict(session_id, 1, "旧页面的问题", api_name="/chat_edit")
    question = studio.roleplay.chat_transcript(session_id)[1]
    assert question.text == "改过的问题" and question.version == 1
    versions = client.predict(session_id, 1, api_name="/chat_open_message")[-1]["choices"]
    client.predict(versions[-1][1], api_name="/restore_message_version")  # of the message opened in this session
    assert studio.roleplay.chat_transcript(session_id)[1].text == "有什么书？"


BAD_IDS = [(1.5, "whole number"), (True, "whole number"), ([1, 2], "whole number"), (10**20, "between 1 and"),
           (0, "between 1 and"), (-1, "between 1 and")]


@pytest.mark.parametrize(("bad", "said"), BAD_IDS, ids=[repr(b) for b, _ in BAD_IDS])
def test_bad_ids_are_refused_with_a_specific_message_and_change_nothing(running, client, make_fast, bad, said):
    studio = running.studio
    project_id = new_project(client, make_fast)
    entry_id = value(client.predict(project_id, *LORE, api_name="/add_lore"))
    chapter_id = new_chapter(client, project_id)
    calls = [
        lambda: client.predict(project_id, bad, api_name="/delete_lore"),
        lambda: client.predict(bad, api_name="/open_chapter"),
        lambda: client.predict(bad, "x", api_name="/save_outline"),
        lambda: client.predict(project_id, bad, "x", "draft", api_name="/rename_chapter"),
        lambda: client.predict(project_id, chapter_id, bad, api_name="/move_chapter"),  # a number input
    ]
    for call in calls:
        with pytest.raises(AppError) as refused:
            call()
        assert said in str(refused.value), str(refused.value)
    assert [e.id for e in studio.library.list_lore(project_id)] == [entry_id]
    chapter = studio.chapters.get_chapter(chapter_id)
    assert (chapter.outline, chapter.title, chapter.ordinal) == ("主角拜师", "第一章", 1)


def test_lone_surrogates_and_oversized_instructions_are_refused_before_the_model(running, client, make_fast):
    studio = running.studio
    project_id = new_project(client, make_fast)
    chapter_id = new_chapter(client, project_id)
    before = len(studio.chapters.list_revisions(chapter_id))
    passages = studio.branches.list_branches(chapter_id)
    with pytest.raises(InvalidInput) as surrogate:
        studio.polish.polish("前半\ud800后半", None, "更生动", chapter_id=chapter_id)
    assert (surrogate.value.code, surrogate.value.values["position"]) == ("text.surrogate", 2)
    with pytest.raises(InvalidInput) as long_instruction:
        studio.polish.polish("一段文字。", None, "改" * 2001, chapter_id=chapter_id)
    assert (long_instruction.value.code, long_instruction.value.values["limit"]) == ("text.too_long", 2000)
    with pytest.raises(InvalidInput) as chat:
        studio.roleplay.chat_turn(1, "你好\udfff")
    assert chat.value.code == "text.surrogate"
    assert len(studio.chapters.list_revisions(chapter_id)) == before
    assert studio.branches.list_branches(chapter_id) == passages  # no passage was started
