"""The committed demo model: official on-disk format within the size limit, perplexity far below
random weights on held-out chapters, and `--demo` serves it."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from app.engine.demo import HELDOUT_DIR, MARKER
from app.engine.factory import DEMO_NOTES, EngineSpec, build_engine
from app.engine.types import GenerationRequest, generate
from app.training.lora import load_base_for_training
from app.training.perplexity import perplexity

SIZE_LIMIT = 25 * 1000 * 1000
SPECIALS = ["<sep>", "<pad>", "<|startoftext|>", "<|endoftext|>", "<|endofprompt|>", "<|endofknowledge|>"]


def test_the_demo_checkpoint_has_the_official_layout_and_fits_the_size_limit(demo_model_dir: Path) -> None:
    config = json.loads((demo_model_dir / "config.json").read_text(encoding="utf-8"))
    assert (config["model_type"], config["architectures"]) == ("xverse", ["XverseForCausalLM"])
    assert config["num_experts"] == 8 and config["moe_top_k"] == 2 and config["num_shared_experts"] == 2
    index = json.loads((demo_model_dir / "model.safetensors.index.json").read_text(encoding="utf-8"))
    names = set(index["weight_map"])
    assert {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight", "model.layers.0.mlp.router.weight",
            "model.layers.0.mlp.experts.7.down_proj.weight", "model.layers.0.mlp.shared_experts.gate_proj.weight",
            "model.layers.0.self_attn.q_proj.weight"} <= names
    weights = sum(path.stat().st_size for path in demo_model_dir.glob("*.safetensors"))
    assert weights <= SIZE_LIMIT
    tokenizer = json.loads((demo_model_dir / "tokenizer.json").read_text(encoding="utf-8"))
    assert [t["content"] for t in sorted(tokenizer["added_tokens"], key=lambda t: t["id"])][:6] == SPECIALS
    assert tokenizer["model"]["byte_fallback"] is True
    processor = tokenizer["post_processor"]  # none, or one that adds no special token (no BOS)
    assert processor is None or (processor["special_tokens"] == {} and len(processor["single"]) == 1)


def test_demo_perplexity_is_far_below_random_weights(demo_model_dir: Path) -> None:
    from transformers import AutoModelForCausalLM

    model, tokenizer = load_base_for_training(demo_model_dir)
    torch.manual_seed(0)
    random_model = AutoModelForCausalLM.from_config(model.config).eval()
    for language in ("zh", "en"):
        text = (demo_model_dir / HELDOUT_DIR / f"heldout_{language}.txt").read_text(encoding="utf-8")[:1200]
        ids = torch.tensor(tokenizer.encode(text, add_special_tokens=False))
        trained, rand = perplexity(model, ids, 256), perplexity(random_model, ids, 256)
        print(f"{language}: demo {trained.perplexity:.1f} vs random {rand.perplexity:.1f} ({trained.tokens} tokens)")
        assert trained.perplexity * 5 < rand.perplexity


def test_demo_flag_serves_the_trained_model_copied_once(tmp_path: Path) -> None:
    spec = EngineSpec(model="xverse/XVERSE-Ent-A4.2B", quantization="nf4", context_length=512, demo=True,
                      demo_dir=tmp_path / "demo")
    engine = build_engine(spec)
    assert engine.info().notes == DEMO_NOTES
    marker = tmp_path / "demo" / MARKER
    copied_at = marker.stat().st_mtime_ns
    build_engine(spec)
    assert marker.stat().st_mtime_ns == copied_at
    results = generate(engine, GenerationRequest("却说黛玉", n=2, max_new_tokens=8, seed=3))
    assert all(r.finish_reason in ("stop", "length") and "\ufffd" not in r.text for r in results)
