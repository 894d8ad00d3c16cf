"""Settings → backups and Role-play → delete chat, through gradio_client against the launched app;
outcomes are checked through the studio (what is stored), not the page."""

from __future__ import annotations

import pytest
from gradio_client.exceptions import AppError
from test_endpoints import new_project, value


def test_backup_now_then_restore_needs_the_confirmation_and_brings_the_old_content_back(running, client, make_fast):
    studio = running.studio
    project_id = new_project(client, make_fast, title="备份前")
    picker, status = client.predict(api_name="/backup_now")
    name = value(picker)
    assert name in {b.name for b in studio.settings.list_backups()} and name in status
    studio.library.update_project(project_id, title="备份后")

    _, status, _ = client.predict(name, False, api_name="/restore_backup")
    assert studio.library.get_project(project_id).title == "备份后"  # not confirmed: nothing changed
    with pytest.raises(AppError):
        client.predict(None, True, api_name="/restore_backup")

    _, status, confirm = client.predict(name, True, api_name="/restore_backup")
    assert studio.library.get_project(project_id).title == "备份前" and confirm is False
    safety = [b.name for b in studio.settings.list_backups() if b.name != name and b.name in status]
    assert safety, "the status names the backup that holds the content from before the restore"
    studio.settings.restore_backup(safety[0])  # leave the shared store as the other tests expect
    assert studio.library.get_project(project_id).title == "备份后"


def test_delete_chat_moves_it_to_the_trash_and_lists_the_rest(running, client, make_fast):
    studio = running.studio
    project_id = new_project(client, make_fast)
    sheet = ["沈砚秋", "", False, "书铺掌柜", "温和", "", "", "", "客官请进。", "", "旧书铺"]
    character_id = value(client.predict(project_id, *sheet, api_name="/add_character"))
    first = value(client.predict(project_id, character_id, "旅人", "", api_name="/chat_start")[0])
    second = value(client.predict(project_id, character_id, "过客", "", api_name="/chat_start")[0])

    sessions, history, position = client.predict(project_id, second, api_name="/chat_delete")
    assert [s.id for s in studio.roleplay.list_chats(project_id)] == [first]
    assert value(sessions) == first and history == [] and position == ""
    assert ("chat", second) in {(item.kind, item.id) for item in studio.library.list_trash(project_id)}
    with pytest.raises(AppError):
        client.predict(project_id, None, api_name="/chat_delete")
    assert [s.id for s in studio.roleplay.list_chats(project_id)] == [first]
