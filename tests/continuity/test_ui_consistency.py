"""Through gradio_client against the real launched app: branch scores shown and sorted (a branch with a
planted wrong name ranks below its clean twin, none is dropped), the consistency check with quote and
evidence, the glossary/facts editor, and the role-play knowledge cutoff."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


def value(output):
    if isinstance(output, dict) and output.get("__type__") == "update":
        return output.get("value")
    return output


def rows(output) -> list[list]:
    table = value(output)
    return table["data"] if isinstance(table, dict) else table


@pytest.fixture(scope="module")
def running(tiny_parts, tmp_path_factory) -> Iterator[tuple]:
    from app.engine.transformers_engine import TransformersEngine
    from app.studio import Studio, StudioOptions
    from app.ui import CSS, build_app
    from story_store import Store

    data = tmp_path_factory.mktemp("ui-continuity")
    store = Store(f"sqlite:///{data / 'inkstone.db'}")
    model, tokenizer = tiny_parts
    engine = TransformersEngine(model, tokenizer, model_id="tiny-xverse", context_length=1024)
    studio = Studio(store, engine, StudioOptions(export_dir=data / "exports", demo=True, persist_interval_s=0.2))
    app = build_app(studio)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, css=CSS)
    try:
        yield studio, store, f"http://127.0.0.1:{port}/"
    finally:
        studio.cancel_all()
        app.close()
        store.close()


@pytest.fixture()
def client(running):
    from serving import studio_client

    c = studio_client(running[2])
    yield c
    c.close()


def _book(studio):
    project = studio.library.create_project("青云志", language="zh")
    studio.library.update_project(project.id, settings={"max_new_tokens": {"branch": 8, "roleplay": 6}})
    studio.library.create_character(project.id, "林微", aliases=["阿微"])
    studio.library.create_character(project.id, "萧长风")
    chapter = studio.chapters.add_chapter(project.id, title="第一章")
    studio.chapters.save_chapter(chapter.id, "林微与萧长风下山。", chapter.version)
    return project, chapter


def test_branch_scores_are_shown_and_sorted_and_the_wrong_name_ranks_below_its_twin(running, client):
    studio, store, _ = running
    project, chapter = _book(studio)
    job = client.submit(chapter.id, 3, 5, api_name="/branch")
    job.result(timeout=180)
    group = studio.branches.list_branches(chapter.id)[0]
    ids = [p.id for p in group]
    store.update_passage(ids[0], text="萧长风推开门，林薇跟了进来。")
    store.update_passage(ids[1], text="萧长风推开门，林微跟了进来。")
    table, *labels = client.predict(chapter.id, *ids, None, api_name="/rank_branches")
    ranked = rows(table)
    assert sorted(r[2] for r in ranked) == sorted(ids)  # every branch listed, none hidden
    scores = [r[3] for r in ranked]
    assert scores == sorted(scores, reverse=True)  # best first
    order = [r[2] for r in ranked]
    assert order.index(ids[1]) < order.index(ids[0])
    wrong = next(r for r in ranked if r[2] == ids[0])
    assert "林薇" in wrong[6] and "林微" in wrong[6]
    assert all(value(label) for label in labels[:3]) and not value(labels[3])
    assert "林薇" in value(labels[0]) and str(round(wrong[3], 2)) in value(labels[0])


def test_check_with_quote_and_evidence_and_the_editor(running, client):
    studio, store, _ = running
    project, chapter = _book(studio)
    client.predict(project.id, None, "曲率引擎", "曲速引擎\n曲速驱动", "", api_name="/save_glossary_term")
    client.predict(project.id, None, "林微", "状态", "死亡", 1, api_name="/save_fact")
    assert [t.variants for t in store.list_glossary_terms(project.id)] == [["曲速引擎", "曲速驱动"]]
    status, findings = client.predict(project.id, None, "林微说道：“曲速引擎坏了。”", False,
                                      api_name="/check_consistency")
    found = rows(findings)
    assert [(r[2], r[3]) for r in found] == [("林微说", "0–3"), ("曲速引擎", "6–10")]
    assert "曲率引擎" in found[1][4] and "1" in found[0][4] and "2" in status
    early_status, early = client.predict(project.id, chapter.id, "林微说道：“走吧。”", False,
                                         api_name="/check_consistency")
    assert rows(early) == []  # in chapter 1 the fact (dead since chapter 1) does not hold yet
    clean_status, clean = client.predict(project.id, None, "萧长风说道：“曲率引擎好了。”", False,
                                         api_name="/check_consistency")
    assert rows(clean) == [] and "✓" in clean_status
    store.create_lore_entry(project.id, title="规则", content="萧长风 · 境界 · 金丹（第1章起）")
    _, facts, message = client.predict(project.id, api_name="/import_facts_from_lore")
    assert ["萧长风", "rank", "金丹", 1] in [r[1:] for r in rows(facts)] and "1" in message


def test_knowledge_cutoff_is_set_through_the_ui(running, client):
    studio, store, _ = running
    project, _ = _book(studio)
    character = studio.library.list_characters(project.id)[0]
    chat = studio.roleplay.start_chat(project.id, character.id)
    said = client.predict(chat.id, 4, api_name="/set_knowledge_cutoff")
    assert store.get_chat_cutoff(chat.id) == 4 and "4" in said
    client.predict(chat.id, 0, api_name="/set_knowledge_cutoff")
    assert store.get_chat_cutoff(chat.id) is None
