"""With no model loaded the studio still opens: writing and saving work, and every generation answers
with the studio's clear message (never a traceback), changing nothing."""

from __future__ import annotations


import pytest
from serving import studio_client
from gradio_client.exceptions import AppError


@pytest.fixture(scope="module")
def no_model_url(tmp_path_factory: pytest.TempPathFactory):
    from app.engine.unavailable import UnavailableEngine
    from app.studio import Studio, StudioOptions
    from app.ui import build_app
    from serving import launch_for_test
    from story_store import Store

    data = tmp_path_factory.mktemp("no-model")
    store = Store(f"sqlite:///{data / 'inkstone.db'}")
    engine = UnavailableEngine("No model is loaded: start with --demo or --model PATH.")
    studio = Studio(store, engine, StudioOptions(export_dir=data / "exports"))
    app = build_app(studio)
    url = launch_for_test(app)
    try:
        yield url, studio, app
    finally:
        app.close()
        store.close()


def test_generation_without_a_model_is_a_clear_message(no_model_url):
    url, studio, _ = no_model_url
    client = studio_client(url)
    try:
        project_id = client.predict("No model", "en", "", "", "", api_name="/create_project")[0]["value"]
        chapter_id = client.predict(project_id, "One", "", api_name="/add_chapter")[0]["value"]
        client.predict(chapter_id, api_name="/open_chapter")
        client.predict(chapter_id, "Typed by hand.", api_name="/save_chapter")
        for endpoint in ("/draft", "/continue"):
            with pytest.raises(AppError, match="No model is loaded"):
                client.predict(chapter_id, "Typed by hand.", 1, api_name=endpoint)
        with pytest.raises(AppError, match="No model is loaded"):
            client.predict(chapter_id, 3, 1, api_name="/branch")
        chapter = studio.chapters.get_chapter(chapter_id)
        assert (chapter.text, chapter.version) == ("Typed by hand.", 1)
        # unsaved editor text is saved before generating, even when generation then fails
        with pytest.raises(AppError, match="No model is loaded"):
            client.predict(chapter_id, "Typed by hand, not saved yet.", 1, api_name="/continue")
        chapter = studio.chapters.get_chapter(chapter_id)
        assert (chapter.text, chapter.version) == ("Typed by hand, not saved yet.", 2)
        _, status, _ = client.predict(chapter_id, "Saved again.", api_name="/save_chapter")
        assert "⚠" not in status and studio.chapters.get_chapter(chapter_id).version == 3  # the editor's version followed
        assert "none" in client.predict(api_name="/engine_info")
        # without the model's tokenizer the inspector says its counts are estimates
        assert "token-estimate-note" in client.predict(chapter_id, "continue", api_name="/preview_context")
    finally:
        client.close()


def elem_ids(app) -> set[str]:
    return {c.get("props", {}).get("elem_id") for c in app.config["components"]}


def test_demo_banner_only_in_demo_mode(no_model_url, tmp_path):
    from app.engine.unavailable import UnavailableEngine
    from app.studio import Studio, StudioOptions
    from app.ui import build_app
    from story_store import Store

    assert "demo-banner" not in elem_ids(no_model_url[2])
    assert {"no-model-banner", "no-model-reason"} <= elem_ids(no_model_url[2])
    store = Store(f"sqlite:///{tmp_path / 'demo.db'}")
    try:
        demo = Studio(store, UnavailableEngine("demo"), StudioOptions(export_dir=tmp_path, demo=True))
        assert "demo-banner" in elem_ids(build_app(demo))
    finally:
        store.close()


def test_no_model_banner_says_why(no_model_url):
    app = no_model_url[2]
    reasons = [c["props"].get("value") for c in app.config["components"]
               if c.get("props", {}).get("elem_id") == "no-model-reason"]
    assert reasons == ["No model is loaded: start with --demo or --model PATH."]


def test_every_child_of_a_tab_bar_is_a_tab(no_model_url):
    """A component made directly under gr.Tabs (e.g. a State created while wiring, after the tab closed)
    shifts Gradio's tab order: the tab bar then shows one tab's name twice and loses another's."""
    import gradio as gr

    def tab_bars(block):
        for child in getattr(block, "children", []):
            if isinstance(child, gr.Tabs):
                yield child
            yield from tab_bars(child)

    bars = list(tab_bars(no_model_url[2]))
    assert len(bars) == 2  # the top bar and the Tools tab's own
    for bar in bars:
        strays = [type(child).__name__ for child in bar.children if not isinstance(child, gr.Tab)]
        assert strays == [], f"not tabs under {bar.elem_id or 'the top tab bar'}: {strays}"
