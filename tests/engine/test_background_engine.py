"""BackgroundEngine: the studio serves while the model loads; generation says "loading" with a code until
the real engine is there, then everything goes to it; a crashing load becomes a coded no-model reason."""

from __future__ import annotations

import threading

import pytest

from app.engine import Done, Engine, EngineUnavailable, GenerationRequest, SamplingParams
from app.engine.background import BackgroundEngine
from app.engine.token_estimate import estimate_tokens
from app.engine.transformers_engine import TransformersEngine
from app.studio import Studio, StudioOptions
from app.studio.errors import NoModel
from messages import Message

GREEDY = SamplingParams(temperature=0)


def _gated(tiny_model_dir, gate: threading.Event):
    def build() -> Engine:
        assert gate.wait(60), "the test never opened the gate"
        return TransformersEngine.from_path(tiny_model_dir, model_id="tiny", quantization="fp32",
                                            device_map={"": "cpu"})
    return build


def test_loading_then_loaded_goes_to_the_real_engine(tiny_model_dir):
    gate, seen = threading.Event(), []
    engine = BackgroundEngine(_gated(tiny_model_dir, gate), model_id="tiny", context_length=4096,
                              on_loaded=seen.append).start()
    assert isinstance(engine, Engine)
    info = engine.info()
    assert (info.kind, info.model_id, info.context_length, info.token_counts_exact) == ("loading", "tiny", 4096, False)
    assert isinstance(info.notes, Message) and info.notes.code == "engine.loading"
    assert "正在加载模型 tiny" in info.notes.render("zh")
    assert engine.loading and engine.count_tokens("夜色渐深") == estimate_tokens("夜色渐深")
    with pytest.raises(EngineUnavailable) as refused:
        engine.stream(GenerationRequest("hello"))
    assert isinstance(refused.value.message, Message) and refused.value.message.code == "engine.loading"
    assert not hasattr(engine, "score")  # optional features are absent while loading
    gate.set()
    assert engine.wait(120)
    assert not engine.loading and engine.info().kind == "transformers" and len(seen) == 1
    events = list(engine.stream(GenerationRequest("从前", max_new_tokens=4, sampling=GREEDY)))
    assert isinstance(events[-1], Done)
    assert callable(engine.score) and engine.count_tokens("从前有座山") == seen[0].count_tokens("从前有座山")


def test_a_crashing_load_becomes_a_coded_reason():
    def build() -> Engine:
        raise RuntimeError("tokenizer.json is corrupt")

    engine = BackgroundEngine(build, model_id="xverse/A4.2B", context_length=8192).start()
    assert engine.wait(30)
    info = engine.info()
    assert info.kind == "none" and info.notes.code == "engine.load_crashed"
    assert "tokenizer.json is corrupt" in info.notes.render("zh") and "加载" in info.notes.render("zh")
    with pytest.raises(EngineUnavailable):
        engine.stream(GenerationRequest("hello"))


def test_the_studio_refuses_while_loading_and_does_not_keep_estimated_counts(tiny_model_dir, store, tmp_path):
    gate = threading.Event()
    engine = BackgroundEngine(_gated(tiny_model_dir, gate), model_id="tiny", context_length=4096).start()
    studio = Studio(store, engine, StudioOptions(export_dir=tmp_path / "exports"))
    project = studio.library.create_project("灯塔", language="zh")
    chapter = studio.chapters.add_chapter(project.id, "第一章", "海风很大，灯塔亮了。")
    text = "海风很大，灯塔的光一圈一圈扫过礁石。"
    estimated = studio.measures.count_tokens(text)
    assert estimated == estimate_tokens(text)
    with pytest.raises(NoModel) as refused:
        studio.writing.draft_chapter(chapter.id, seed=1)
    assert refused.value.message.code == "engine.loading"
    gate.set()
    assert engine.wait(120)
    exact = engine.count_tokens(text)
    assert studio.measures.count_tokens(text) == exact != estimated
