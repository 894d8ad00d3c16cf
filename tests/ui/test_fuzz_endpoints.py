"""Every named endpoint answers hostile input with a specific message within 10 s: NaN / infinity /
huge / fractional numbers, bad ids, odd JSON and broken files in card and lorebook imports."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

LIMIT_S = 10.0
BAD_NUMBERS = [math.nan, math.inf, -math.inf, 1e300, 2.5]
BAD_IDS = ["abc", 1.5, -1, 10**30, math.nan]
# (endpoint, parameter index) whose id these calls do not use: the trash lists every project's items; the
# polish source is the editor text when given; a whole-book export does not read the chapter
UNUSED = {("/list_trash", 0), ("/chapter_text", 0), ("/export_book", 1)}
VAGUE = ("", "Error", "None", "error")
LEAKS = ("Traceback", "cannot convert float", "_io.", "object at 0x", "RecursionError", "OverflowError")


@pytest.fixture(scope="module")
def world(running):
    studio = running.studio
    project = studio.library.create_project("Fuzz", language="en")
    studio.library.update_project(project.id, settings={"max_new_tokens": {k: 4 for k in (
        "draft", "continue", "branch", "brainstorm", "summary", "polish", "roleplay")}})
    chapter = studio.chapters.add_chapter(project.id, title="One", outline="o")
    studio.chapters.save_chapter(chapter.id, "Some text.", chapter.version)
    character = studio.library.create_character(project.id, name="Lin", greeting="Hello.")
    lore = studio.library.create_lore_entry(project.id, title="L", content="c", keys=["k"])
    chat = studio.roleplay.start_chat(project.id, character.id)
    return {"Project": project.id, "Chapter": chapter.id, "Character": character.id, "Lore entry": lore.id,
            "Saved chats": chat.id}


@pytest.fixture(scope="module")
def api(running):
    from serving import studio_client

    client = studio_client(running.url)
    try:
        return client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    finally:
        client.close()


def _baseline(params: list[dict], world: dict) -> list | None:
    values = []
    for p in params:
        kind, label = p["component"], p.get("label")
        python_type = p["python_type"]["type"]
        if kind == "File":
            return None  # files are fuzzed separately
        if label in world:
            values.append(world[label])
        elif python_type.startswith("Literal[") and python_type != "Literal[]":
            values.append(python_type[len("Literal['"):].split("'")[0])
        elif kind in ("Number", "Slider"):
            default = p.get("parameter_default")
            values.append(default if isinstance(default, (int, float)) else 1)
        elif kind == "Checkbox":
            values.append(False)
        elif kind == "Dropdown":
            values.append(None)
        else:
            values.append("x")
    return values


def _call(url: str, endpoint: str, args: list):
    """(outcome, message) of one raw API call ("ok" or "refused"), sent as a browser or script could
    (NaN and Infinity are valid in the JSON Python writes); fails on a vague or leaking message or an
    answer slower than LIMIT_S."""
    started = time.monotonic()
    body = json.dumps({"data": args}, allow_nan=True)
    with httpx.Client(base_url=url, timeout=LIMIT_S + 5) as http:
        posted = http.post(f"/gradio_api/call{endpoint}", content=body, headers={"Content-Type": "application/json"})
        if posted.status_code != 200:
            outcome, message = "refused", posted.text
        else:
            outcome, message = _outcome(http.get(f"/gradio_api/call{endpoint}/{posted.json()['event_id']}").text)
    elapsed = time.monotonic() - started
    assert elapsed < LIMIT_S, f"{endpoint}{args!r} took {elapsed:.1f} s"
    if outcome == "refused":
        assert message.strip() not in VAGUE and not any(leak in message for leak in LEAKS), \
            f"{endpoint}{args!r} answered {message!r}"
    return outcome, message


def _outcome(stream: str) -> tuple[str, str]:
    """The last event of a /gradio_api/call stream: ("ok", "") or ("refused", its message)."""
    event = data = ""
    for line in stream.splitlines():
        if line.startswith("event:"):
            event = line[len("event:"):].strip()
        elif line.startswith("data:"):
            data = line[len("data:"):].strip()
    if event == "error":
        message = json.loads(data) if data and data != "null" else ""
        if isinstance(message, dict):  # {"error": text or null, "title": ..., ...}
            message = message.get("error") or ""
        return "refused", message if isinstance(message, str) else json.dumps(message)
    return "ok", ""


def _cases(api: dict, world: dict, kinds: tuple[str, ...], bad_values: list):
    for endpoint, info in api.items():
        base = _baseline(info["parameters"], world)
        if base is None:
            continue
        for i, p in enumerate(info["parameters"]):
            if (endpoint, i) in UNUSED and kinds == ("Dropdown",):
                continue
            if p["component"] in kinds and (kinds != ("Dropdown",) or p.get("label") in world):
                for bad in bad_values:
                    yield endpoint, [*base[:i], bad, *base[i + 1:]]


def test_numbers_that_are_not_numbers_get_a_message(running, api, world):
    cases = list(_cases(api, world, ("Number", "Slider"), BAD_NUMBERS))
    assert len(cases) > 100
    refused = [c for c in cases if _call(running.url, *c)[0] == "refused"]
    nan_cases = [c for c in cases if any(isinstance(v, float) and math.isnan(v) for v in c[1])]
    assert all(c in refused for c in nan_cases)  # NaN is never accepted as a number


def test_bad_ids_get_a_message(running, api, world):
    cases = list(_cases(api, world, ("Dropdown",), BAD_IDS))
    assert len(cases) > 100
    accepted = [case for case in cases if _call(running.url, *case)[0] != "refused"]
    assert accepted == [], "\n".join(map(repr, accepted))


def _deep(levels: int) -> dict:
    root = node = {}
    for _ in range(levels):
        node["a"] = {}
        node = node["a"]
    return root


ODD_FILES = {
    "deep.json": json.dumps({"spec": "chara_card_v2", "data": {"name": "x", "extensions": _deep(900)}}),
    "array.json": "[1, 2, 3]",
    "nan.json": '{"spec": "chara_card_v2", "data": {"name": NaN}}',
    "empty.json": "",
    "gbk.json": "不是 UTF-8".encode("gbk"),
    "broken.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDX" + b"a" * 30,
    "entries.lorebook": json.dumps({"lorebookVersion": 5, "entries": {"x": 1}}),
    "deep.lorebook": json.dumps({"entries": [_deep(700)]}),
}


@pytest.mark.parametrize("name", sorted(ODD_FILES))
@pytest.mark.parametrize("endpoint", ["/import_card", "/import_lorebook"])
def test_odd_card_and_lorebook_files_get_a_message_naming_the_file(running, client, world, tmp_path: Path, name,
                                                                  endpoint):
    path = tmp_path / name
    content = ODD_FILES[name]
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    library = running.studio.library
    counts = lambda: (len(library.list_characters(world["Project"])), len(library.list_lore(world["Project"])))  # noqa: E731
    before = counts()
    started = time.monotonic()
    with pytest.raises(AppError) as refused:
        client.submit(world["Project"], handle_file(str(path)), api_name=endpoint).result(timeout=LIMIT_S + 5)
    assert time.monotonic() - started < LIMIT_S
    message = str(refused.value)
    assert not any(leak in message for leak in LEAKS), message
    assert name in message or "file" in message.lower(), message
    assert counts() == before  # nothing imported
