"""Choosing and building the engine from an EngineSpec (launch.py turns Settings into the spec).

Order: `--demo` → the tiny random XVERSE-MoE (built into demo_dir once, then loaded through the
same `load_model` path as real checkpoints, fp32 on CPU); `--openai-base-url` → OpenAIEngine;
otherwise the real local model. When the local model cannot run here (no CUDA for a quantization
that needs it, not enough GPU memory, missing files) the result is an `UnavailableEngine` whose
reason says so plainly and names the ways out, so the studio still opens; any other failure while
loading (a corrupt tokenizer.json, a broken shard) becomes an UnavailableEngine too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from app.engine.types import Engine, EngineError
from messages import Message

DEMO_NOTES = "demo model: a small XVERSE-MoE trained on 红楼梦 and Pride and Prejudice; simple text"
RANDOM_DEMO_NOTES = "demo model: random weights, text is random"  # when the bundled weights are missing
CUDA_QUANTIZATIONS = ("auto", "nf4", "int8")  # "auto" means nf4 for a real model
WAYS_OUT = Message("engine.ways_out")  # the reasons are Messages: the page shows them in the writer's language


@dataclass(frozen=True)
class EngineSpec:
    model: str
    quantization: str
    context_length: int
    demo: bool
    demo_dir: Path
    openai_base_url: str | None = None
    openai_model: str | None = None
    openai_api_key: str | None = None
    tokenizer_path: str | None = None
    gpu_memory_gib: float | None = None
    kv_cache_bits: int | None = None  # None: chosen from the memory estimate at load (engine_load)
    embed_on_cpu: bool = True


def build_engine(spec: EngineSpec) -> Engine:
    if spec.demo:
        return build_demo_engine(spec)
    if spec.openai_base_url:
        from app.engine.openai_engine import OpenAIEngine

        return OpenAIEngine(spec.openai_base_url, spec.openai_model or spec.model, spec.openai_api_key or "none",
                            tokenizer_path=spec.tokenizer_path, context_length=spec.context_length)
    return build_local_engine(spec)


def build_demo_engine(spec: EngineSpec) -> Engine:
    """The bundled trained demo checkpoint (or, without it, the tiny random one), loaded like a real one."""
    from app.engine.demo import bundled_demo_available, prepare_demo_dir
    from app.engine.transformers_engine import TransformersEngine

    demo_dir = prepare_demo_dir(Path(spec.demo_dir))
    notes = DEMO_NOTES if bundled_demo_available() else RANDOM_DEMO_NOTES
    return TransformersEngine.from_path(demo_dir, model_id="tiny-xverse-demo", context_length=spec.context_length,
                                        notes=notes, quantization="fp32", device_map={"": "cpu"},
                                        context_tokens=spec.context_length)


def build_local_engine(spec: EngineSpec) -> Engine:
    from app.engine.unavailable import UnavailableEngine

    if not torch.cuda.is_available() and spec.quantization in CUDA_QUANTIZATIONS:
        return UnavailableEngine(
            Message("engine.needs_cuda", model=spec.model, quantization=spec.quantization, ways_out=WAYS_OUT),
            model_id=spec.model, context_length=spec.context_length)
    from app.engine.transformers_engine import TransformersEngine

    try:
        return TransformersEngine.from_path(
            spec.model, model_id=spec.model, context_length=spec.context_length,
            quantization=spec.quantization, max_gpu_memory_gib=spec.gpu_memory_gib,
            embed_on_cpu=spec.embed_on_cpu, kv_cache_bits=spec.kv_cache_bits, context_tokens=spec.context_length,
        )
    except EngineError as error:  # every ModelLoadError: not found, missing shards, memory, bitsandbytes
        reason = getattr(error, "message", None) or str(error)  # a CodedError's Message, in the page's language
        return UnavailableEngine(Message("engine.could_not_load", model=spec.model, error=reason, ways_out=WAYS_OUT),
                                 model_id=spec.model, context_length=spec.context_length)
    except Exception as error:  # noqa: BLE001 - a corrupt tokenizer, config or shard must not stop the studio
        detail = f"{type(error).__name__}: {error}"
        return UnavailableEngine(Message("engine.files_damaged", model=spec.model, detail=detail, ways_out=WAYS_OUT),
                                 model_id=spec.model, context_length=spec.context_length)
