"""The My style tab's API endpoints on a real launched Gradio app over the demo model: export with row
counts, start a fine-tune, list its adapter with perplexities, use it for generation, refusals as messages."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture()
def served(demo_model_dir: Path, writer_texts, tmp_path: Path):
    from serving import studio_client

    from app.engine.transformers_engine import TransformersEngine
    from app.studio import Studio, StudioOptions
    from app.ui import build_app
    from serving import launch_for_test
    from story_store import Store

    store = Store(f"sqlite:///{tmp_path / 'inkstone.db'}")
    engine = TransformersEngine.from_path(demo_model_dir, quantization="fp32", device_map={"": "cpu"},
                                          context_length=512, model_id="demo")
    options = StudioOptions(export_dir=tmp_path / "exports", demo=True, adapters_dir=tmp_path / "adapters",
                            base_model_path=demo_model_dir)
    studio = Studio(store, engine, options)
    project = store.create_project("雨夜", language="zh")
    train, heldout = writer_texts
    store.create_chapter(project.id, title="第一章", text="\n\n".join(train))
    store.create_chapter(project.id, title="第二章", text="\n\n".join(heldout))
    app = build_app(studio)
    client = studio_client(launch_for_test(app))
    try:
        yield client, studio, project.id
    finally:
        client.close()
        studio.cancel_all()
        app.close()
        store.close()


@pytest.mark.slow
def test_export_finetune_list_and_use_through_the_api(served) -> None:
    from gradio_client.exceptions import AppError

    client, studio, project_id = served
    counts, files = client.predict(project_id, "trl", api_name="/export_datasets")
    assert "SFT: 2 row(s) written, 2 loaded back" in counts and "DPO: 0 row(s)" in counts
    assert len(files) == 2
    with pytest.raises(AppError, match="cannot be an adapter name"):
        client.predict(project_id, "../x", 4, api_name="/start_finetune")
    started, _ = client.predict(project_id, "mine", 6, api_name="/start_finetune")
    assert "mine" in started
    assert studio.style._jobs[project_id][1].wait(600).status == "finished"
    table, chooser = client.predict(project_id, api_name="/list_adapters")
    assert "| mine |" in table and "6" in table
    table, chooser = client.predict(project_id, "mine", api_name="/use_adapter")
    assert "mine ✓" in table and studio.style.list_adapters(project_id)[0].active
    with pytest.raises(AppError, match="no adapter named"):
        client.predict(project_id, "missing", api_name="/use_adapter")
