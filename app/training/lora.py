"""LoRA / QLoRA setup for XVERSE-MoE with peft: which modules get adapters, gradient
checkpointing for our decoder layers, and loading a base model for training.

Targets: attention (q/k/v/o_proj) and the shared experts (gate/up/down_proj) of every layer; the
routed experts (`experts.{e}.*`) only when asked (64 experts x 28 layers is many small adapters,
and each token trains only its top-k of them). The router and lm_head are never adapted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

ATTENTION = r"self_attn\.(q|k|v|o)_proj"
SHARED = r"shared_experts\.(gate|up|down)_proj"
ROUTED = r"experts\.\d+\.(gate|up|down)_proj"


@dataclass(frozen=True)
class LoraSpec:
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.0
    include_routed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def target_pattern(include_routed: bool) -> str:
    """peft `target_modules` regex (matched against the full module name)."""
    parts = [ATTENTION, SHARED] + ([ROUTED] if include_routed else [])
    return r".*\.(" + "|".join(parts) + r")$"


def attach_lora(model: nn.Module, spec: LoraSpec, adapter_name: str = "default") -> Any:
    """Wrap `model` in a peft LoRA model; only the adapter weights are trainable afterwards.

    peft injects the LoRA layers into `model`'s own modules, so calling `model` directly also
    runs the active adapter.
    """
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=spec.rank, lora_alpha=spec.alpha, lora_dropout=spec.dropout,
                        target_modules=target_pattern(spec.include_routed), bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, config, adapter_name=adapter_name)


def enable_gradient_checkpointing(model: nn.Module) -> int:
    """Recompute every decoder layer in backward instead of keeping its activations.

    Returns the number of layers wrapped. Routing is deterministic, so the recomputed forward
    picks the same experts as the first one.
    """
    wrapped = 0
    for module in model.modules():
        if type(module).__name__ == "XverseDecoderLayer" and not getattr(module, "_inkstone_checkpointed", False):
            original = module.forward

            def forward(*args: Any, _original: Any = original, _module: nn.Module = module) -> torch.Tensor:
                if not (_module.training and torch.is_grad_enabled()):
                    return _original(*args)
                return checkpoint(_original, *args, use_reentrant=False)

            module.forward = forward
            module._inkstone_checkpointed = True  # type: ignore[assignment]
            wrapped += 1
    return wrapped


def load_base_for_training(path: str | Path, quantization: str = "fp32") -> tuple[Any, Any]:
    """(model, tokenizer) for fine-tuning: fp32 on CPU, or NF4 (QLoRA) / bf16 on CUDA ("auto": NF4 if CUDA).

    NF4 keeps the router and lm_head unquantized and is prepared for k-bit training by peft
    (norms in fp32, input gradients enabled so checkpointed layers get gradients).
    """
    import app.engine.xverse  # noqa: F401 - registers XVERSE with the Auto classes
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    if quantization == "auto":  # QLoRA on a GPU, full precision on the CPU
        quantization = "nf4" if torch.cuda.is_available() else "fp32"
    if quantization == "fp32":
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.float32)
        return model, tokenizer
    if not torch.cuda.is_available():
        raise ValueError(f"{quantization} fine-tuning needs a CUDA GPU")
    if quantization == "bf16":
        return AutoModelForCausalLM.from_pretrained(str(path), dtype=torch.bfloat16, device_map={"": 0}), tokenizer
    from peft import prepare_model_for_kbit_training
    from transformers import BitsAndBytesConfig

    bnb = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                             bnb_4bit_compute_dtype=torch.bfloat16, llm_int8_skip_modules=["router", "lm_head"])
    model = AutoModelForCausalLM.from_pretrained(str(path), quantization_config=bnb, device_map={"": 0})
    return prepare_model_for_kbit_training(model, use_gradient_checkpointing=False), tokenizer
