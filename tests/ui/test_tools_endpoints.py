"""The Writing tools tab through a real Gradio server and gradio_client: run each tool, see it kept,
reopen it, write a bio into the sheet; bad material gets a specific message."""

from __future__ import annotations

import pytest
from gradio_client.exceptions import AppError
from test_endpoints import new_project, run_stream, value


def test_a_tool_run_is_kept_reopened_and_a_bio_reaches_the_sheet(running, client, make_fast):
    studio = running.studio
    project_id = new_project(client, make_fast)
    hero = studio.library.create_character(project_id, "林远", background="山村孤儿。")
    updates, (text, status, results) = run_stream(client, project_id, "outline", "少年入山门，修仙问道。", None, 5, 7,
                                                  api_name="/run_writing_tool")
    assert len(updates) >= 2 and "kept under earlier results" in status
    (kept,) = studio.tools.results(project_id, "outline")
    assert text == kept.text and text.startswith("第1章")
    assert value(results) == kept.id and [v for _, v in results["choices"]] == [kept.id]
    listed = client.predict(project_id, "outline", api_name="/writing_tool_results")
    assert [v for _, v in listed["choices"]] == [kept.id]
    assert client.predict(project_id, "outline", kept.id, api_name="/open_writing_tool_result") == kept.text

    _, (bio, _, bios) = run_stream(client, project_id, "character_bio", "寡言。", hero.id, 0, 3,
                                   api_name="/run_writing_tool")
    said = client.predict(value(bios), hero.id, api_name="/bio_into_sheet")
    assert "林远" in said and "background" in said and studio.library.get_character(hero.id).background == bio.strip()
    with pytest.raises(AppError, match="not a bio"):  # an outline is not a bio: the sheet stays as it is
        client.predict(kept.id, hero.id, api_name="/bio_into_sheet")
    assert studio.library.get_character(hero.id).background == bio.strip()


@pytest.mark.parametrize("args, said", [
    (("outline", "   ", None, 5), "premise or topic"),
    (("outline", "x", None, 0), "between 1 and 200 chapters"),
    (("short_video", "x", None, 9999), "between 5 and 600 seconds"),
    (("character_bio", "x", None, 0), "character"),
])
def test_bad_material_gets_a_specific_message(running, client, make_fast, args, said):
    project_id = new_project(client, make_fast)
    with pytest.raises(AppError, match=said):
        client.predict(project_id, *args, -1, api_name="/run_writing_tool")
    assert running.studio.tools.results(project_id, args[0]) == []
