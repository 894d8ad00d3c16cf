"""LoRA "my style" on the trained demo model: lower held-out perplexity, atomic adapters that list,
reload and change generation, cancel leaves no adapter, resume continues from the checkpoint."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.engine.transformers_engine import TransformersEngine
from app.engine.types import GenerationRequest, SamplingParams, generate
from app.training.adapters import AdapterStore
from app.training.finetune import FineTuneJob, FineTuneRequest, JobState
from app.training.trainer import CHECKPOINT_NAME

JOB_TIMEOUT_S = 600


def _request(writer_texts, name: str, steps: int = 24) -> FineTuneRequest:
    train, heldout = writer_texts
    return FineTuneRequest("book", name, train, heldout, steps=steps, seq_len=48, batch_size=4,
                           learning_rate=4e-3, checkpoint_every=5)


@pytest.fixture(scope="module")
def finished(demo_model_dir, writer_texts, tmp_path_factory) -> tuple[AdapterStore, JobState]:
    root = tmp_path_factory.mktemp("lora")
    adapters = AdapterStore(root / "adapters")
    job = FineTuneJob(demo_model_dir, "demo", adapters, root / "work", _request(writer_texts, "my-style"))
    state = job.start().wait(JOB_TIMEOUT_S)
    assert state.status == "finished", state
    assert not (root / "work" / "book" / "my-style").exists()  # the checkpoint is gone once the adapter exists
    return adapters, state


def test_lora_lowers_heldout_perplexity_below_the_base(finished) -> None:
    _, state = finished
    metrics = state.adapter.metrics
    base, tuned = metrics["heldout_ppl_base"], metrics["heldout_ppl_adapter"]
    print(f"held-out perplexity: base {base:.2f}, adapter {tuned:.2f} ({metrics['heldout_tokens']:.0f} tokens)")
    assert 1.0 < tuned < base
    assert state.step == state.total_steps == 24


def test_adapter_lists_reloads_and_changes_generation_for_the_same_seed(finished, demo_model_dir) -> None:
    adapters, state = finished
    [listed] = adapters.list("book")
    assert (listed.name, listed.steps, listed.base_model) == ("my-style", 24, "demo")
    assert (listed.path / "adapter_model.safetensors").is_file()
    engine = TransformersEngine.from_path(demo_model_dir, quantization="fp32", device_map={"": "cpu"},
                                          context_length=512)
    request = GenerationRequest("第一章 雨夜\n\n", max_new_tokens=24, seed=7,
                                sampling=SamplingParams(temperature=0.9, top_p=0.95))
    base_text = generate(engine, request)[0].text
    assert generate(engine, request)[0].text == base_text  # same seed, same text
    engine.use_adapter("my-style", listed.path)
    assert engine.active_adapter == "my-style"
    tuned_text = generate(engine, request)[0].text
    assert tuned_text != base_text
    assert generate(engine, request)[0].text == tuned_text
    engine.use_adapter(None)
    assert generate(engine, request)[0].text == base_text


def test_cancel_leaves_no_adapter_and_resume_continues(demo_model_dir, writer_texts, tmp_path: Path) -> None:
    adapters = AdapterStore(tmp_path / "adapters")
    request = _request(writer_texts, "resumable", steps=12)
    reached = threading.Event()

    def on_progress(state: JobState) -> None:
        if state.step >= 5:  # a checkpoint is written at step 5
            reached.set()
            job.cancel()

    job = FineTuneJob(demo_model_dir, "demo", adapters, tmp_path / "work", request, on_progress=on_progress)
    state = job.start().wait(JOB_TIMEOUT_S)
    assert reached.is_set() and state.status == "cancelled", state
    assert adapters.list("book") == []
    assert not any((tmp_path / "adapters").rglob("adapter_model.safetensors"))  # nothing half-written
    assert (tmp_path / "work" / "book" / "resumable" / CHECKPOINT_NAME).is_file()
    stopped_at = state.step

    resumed = FineTuneJob(demo_model_dir, "demo", adapters, tmp_path / "work", request).start().wait(JOB_TIMEOUT_S)
    assert resumed.status == "finished", resumed
    assert resumed.resumed_from == stopped_at >= 5
    assert resumed.step == 12
    [adapter] = adapters.list("book")
    assert adapter.steps == 12
