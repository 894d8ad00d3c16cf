"""build_engine: demo checkpoint through the real loading path, OpenAI, and unavailable with reasons."""

from __future__ import annotations

import shutil

import pytest
import torch

from app.engine import EngineUnavailable, GenerationRequest, generate
from app.engine.factory import DEMO_NOTES, EngineSpec, build_engine
from app.engine.openai_engine import OpenAIEngine
from app.engine.transformers_engine import TransformersEngine
from app.engine.unavailable import UnavailableEngine
from messages import render


def spec(tmp_path, **changes) -> EngineSpec:
    base = dict(model="xverse/XVERSE-Ent-A4.2B", quantization="nf4", context_length=1024, demo=False,
                demo_dir=tmp_path / "demo")
    return EngineSpec(**{**base, **changes})


@pytest.mark.slow
def test_demo_builds_the_tiny_checkpoint_once_and_generates(tmp_path):
    engine = build_engine(spec(tmp_path, demo=True))
    assert isinstance(engine, TransformersEngine)
    info = engine.info()
    assert (info.kind, info.notes, info.device) == ("transformers", DEMO_NOTES, "cpu")
    assert (tmp_path / "demo" / "config.json").is_file()
    built_at = (tmp_path / "demo" / "config.json").stat().st_mtime_ns
    results = generate(engine, GenerationRequest("从前有座山", n=2, max_new_tokens=5, seed=1))
    assert all(r.finish_reason in ("stop", "length") for r in results)
    again = build_engine(spec(tmp_path, demo=True))  # reuses the folder, does not rebuild
    assert (tmp_path / "demo" / "config.json").stat().st_mtime_ns == built_at
    assert [r.text for r in generate(again, GenerationRequest("从前有座山", n=2, max_new_tokens=5, seed=1))] == [
        r.text for r in results
    ]


def test_openai_base_url_gives_the_openai_engine(tmp_path):
    engine = build_engine(spec(tmp_path, openai_base_url="http://127.0.0.1:9/v1", openai_model="served"))
    assert isinstance(engine, OpenAIEngine)
    assert (engine.info().kind, engine.info().model_id) == ("openai", "served")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU refusal")
def test_real_model_without_cuda_is_unavailable_with_ways_out(tmp_path):
    engine = build_engine(spec(tmp_path))
    assert isinstance(engine, UnavailableEngine)
    assert engine.info().kind == "none"
    for way_out in ("--demo", "--context", "--gpu-memory", "--openai-base-url", "CUDA"):
        assert way_out in engine.reason
        assert way_out in render(engine.info().notes, "zh")
    assert "没有可用的 CUDA 显卡" in render(engine.info().notes, "zh")  # the reason is a Message, not English text
    with pytest.raises(EngineUnavailable, match="--demo"):
        engine.stream(GenerationRequest("hi"))
    assert engine.count_tokens("夜色渐深 and rain") > 0


def test_missing_model_folder_is_unavailable_and_says_why(tmp_path):
    engine = build_engine(spec(tmp_path, model=str(tmp_path / "nowhere"), quantization="fp32"))
    assert isinstance(engine, UnavailableEngine)
    assert "nowhere" in engine.reason and "--openai-base-url" in engine.reason
    in_chinese = render(engine.info().notes, "zh")
    assert "无法加载" in in_chinese and "nowhere" in in_chinese and "could not" not in in_chinese


def _corrupt_tokenizer(folder) -> None:
    (folder / "tokenizer.json").write_text("{ this is not json", encoding="utf-8")


def _truncate_first_shard(folder) -> None:  # raises safetensors' own error, not an EngineError
    min(folder.glob("*.safetensors")).write_bytes(b"\x00" * 7)


@pytest.mark.parametrize("damage", [_corrupt_tokenizer, _truncate_first_shard])
def test_damaged_model_files_are_unavailable_not_a_crash(tmp_path, tiny_model_dir, damage):
    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model_dir, broken)
    damage(broken)
    engine = build_engine(spec(tmp_path, model=str(broken), quantization="fp32"))
    assert isinstance(engine, UnavailableEngine)
    assert "broken-model could not be loaded" in engine.reason and "--demo" in engine.reason
    assert render(engine.info().notes, "zh").startswith("无法加载 ")  # in the writer's language
    with pytest.raises(EngineUnavailable):
        engine.stream(GenerationRequest("hi"))
