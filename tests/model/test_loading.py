"""load_model: nf4 / int8 on CPU through bitsandbytes, saved quantized copies, and clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import bitsandbytes as bnb
import pytest
import torch
from torch import nn

from app.engine import EngineError
from app.engine.loading import (
    InsufficientMemoryError,
    MissingShardsError,
    ModelLoadError,
    ModelNotFoundError,
    load_model,
    save_quantized,
)
from app.engine.memory_estimate import GIB, estimate_memory, fit_advice, kv_cache_bytes
from app.engine.xverse import XverseConfig

QUANTIZED_PARTS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                   "shared_experts.gate_proj", "shared_experts.up_proj", "shared_experts.down_proj")


def linears_by_kind(model) -> dict[str, type]:
    return {name: type(module) for name, module in model.named_modules() if isinstance(module, nn.Linear)}


def assert_quantized(model, bnb_class: type) -> None:
    kinds = linears_by_kind(model)
    projections = [n for n in kinds if any(part in n for part in QUANTIZED_PARTS) or ".experts." in n]
    expected = model.config.num_hidden_layers * (4 + 3 + 3 * model.config.num_experts)
    assert len(projections) == expected
    assert all(kinds[name] is bnb_class for name in projections)
    unquantized = [n for n in kinds if n.endswith(".router") or n == "lm_head"]
    assert len(unquantized) == model.config.num_hidden_layers + 1
    assert all(kinds[name] is nn.Linear for name in unquantized)
    assert all(model.get_submodule(n).weight.dtype == torch.float32 for n in unquantized if "router" in n)


@pytest.mark.parametrize("quantization, bnb_class", [("nf4", bnb.nn.Linear4bit), ("int8", bnb.nn.Linear8bitLt)])
def test_bnb_quantization_on_cpu(tiny_model_dir: Path, quantization: str, bnb_class: type) -> None:
    model, tokenizer = load_model(tiny_model_dir, quantization=quantization, kv_cache_bits=8, embed_on_cpu=True)
    assert_quantized(model, bnb_class)
    ids = tokenizer("雨停了。The keeper", return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**ids, max_new_tokens=8, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert out.shape == (1, ids.input_ids.shape[1] + 8)
    assert model.get_input_embeddings().weight.device.type == "cpu"


def test_saved_nf4_copy_reloads_quantized(tmp_path: Path, tiny_model_dir: Path) -> None:
    model, tokenizer = load_model(tiny_model_dir, quantization="nf4")
    saved = save_quantized(model, tokenizer, tmp_path / "nf4-copy")
    assert "kv_cache_bits" not in json.loads((saved / "config.json").read_text())
    assert [p.name for p in tmp_path.iterdir()] == ["nf4-copy"]  # no staging folder left behind
    reloaded, _ = load_model(saved)  # "auto" picks up the saved quantization
    assert_quantized(reloaded, bnb.nn.Linear4bit)
    ids = torch.tensor([[10, 11, 12, 13]])
    with torch.no_grad():
        torch.testing.assert_close(reloaded(ids).logits, model(ids).logits)
    with pytest.raises(ModelLoadError, match="saved quantized as nf4"):
        load_model(saved, quantization="int8")
    with pytest.raises(ModelLoadError, match="not empty"):
        save_quantized(model, tokenizer, saved)


def test_auto_on_cpu_loads_fp32_with_the_kv_width(tiny_model_dir: Path) -> None:
    model, tokenizer = load_model(tiny_model_dir, kv_cache_bits=8)
    assert model.dtype == torch.float32 and not hasattr(model.config, "kv_cache_bits")  # no runtime key
    assert tokenizer.pad_token_id == 1 and not model.training


def test_missing_path_and_uncached_id(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="No model folder"):
        load_model(tmp_path / "nowhere")
    with pytest.raises(ModelNotFoundError, match="not a model folder"):
        load_model(tmp_path)
    with pytest.raises(ModelNotFoundError, match="huggingface-cli download"):
        load_model("inkstone-test/no-such-model", local_files_only=True)
    assert issubclass(ModelNotFoundError, EngineError)


def test_missing_shard_is_named(tmp_path: Path, tiny_model_dir: Path) -> None:
    folder = Path(shutil.copytree(tiny_model_dir, tmp_path / "partial"))
    (folder / "model-00003-of-00009.safetensors").unlink()
    with pytest.raises(MissingShardsError, match="model-00003-of-00009.safetensors"):
        load_model(folder)
    for shard in folder.glob("*.safetensors"):
        shard.unlink()
    (folder / "model.safetensors.index.json").unlink()
    with pytest.raises(MissingShardsError, match="no weight files"):
        load_model(folder)


def test_bad_options_are_refused(tiny_model_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match="Unknown quantization"):
        load_model(tiny_model_dir, quantization="q3")
    with pytest.raises(ModelLoadError, match="kv_cache_bits"):
        load_model(tiny_model_dir, kv_cache_bits=4)
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="no CUDA GPU"):
            load_model(tiny_model_dir, max_gpu_memory_gib=15)


A4_2B = XverseConfig(num_experts=64, moe_top_k=6, num_shared_experts=2)  # defaults are the A4.2B shape


def test_a4_2b_memory_figures_match_the_design_notes() -> None:
    """DESIGN §3: bf16 ~48 GiB, int8 ~24.5, nf4 ~13.1; bf16 KV 280 KiB/token (2.19 GiB at 8K)."""
    assert kv_cache_bytes(A4_2B, 1, 16) == 280 * 1024
    figures = {q: estimate_memory(A4_2B, q, 8192)["weights"] / GIB for q in ("bf16", "int8", "nf4")}
    assert figures["bf16"] == pytest.approx(48.0, abs=0.3)
    assert figures["int8"] == pytest.approx(24.5, abs=0.3)
    assert figures["nf4"] == pytest.approx(13.1, abs=0.2)
    shipped = estimate_memory(A4_2B, "nf4", 8192, 8, embed_on_cpu=True)
    assert shipped["embedding"] == 0 and shipped["total"] < 15.0 * GIB
    assert shipped["kv_cache"] < estimate_memory(A4_2B, "nf4", 8192, 16)["kv_cache"] * 0.55


def test_not_enough_memory_says_what_would_fit() -> None:
    estimate = estimate_memory(A4_2B, "bf16", 8192)
    message = fit_advice(A4_2B, estimate, 15 * GIB, "bf16", 8192)
    for option in ("nf4", "CPU offload", "--openai-base-url"):
        assert option in message
    nf4 = estimate_memory(A4_2B, "nf4", 8192)
    message = fit_advice(A4_2B, nf4, 14 * GIB, "nf4", 8192)
    assert "shorter context" in message and "nf4 quantization with" not in message  # already nf4
    assert "可行的办法" in message.render("zh") and "更短的上下文" in message.render("zh")
    assert issubclass(InsufficientMemoryError, ModelLoadError)


def test_a_model_bigger_than_memory_is_refused_before_loading(tmp_path: Path) -> None:
    """An fp32 model far bigger than RAM: refused with advice, without reading any weights."""
    folder = tmp_path / "huge"
    folder.mkdir()
    A4_2B.__class__(num_experts=512, moe_top_k=6, num_shared_experts=2).save_pretrained(folder)
    (folder / "model.safetensors").write_bytes(b"")  # never read: the check comes first
    with pytest.raises(InsufficientMemoryError, match="What would fit:.*nf4"):
        load_model(folder, quantization="fp32", context_tokens=8192)


def write_bin_shards(source: Path, target: Path) -> Path:
    """The checkpoint re-saved as two pytorch_model-*.bin shards with their index (older official format)."""
    from safetensors.torch import load_file

    target.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(source / name, target / name)
    state = {}
    for shard in sorted(source.glob("model-*.safetensors")):
        state.update(load_file(shard))
    names = sorted(state)
    weight_map = {}
    for number, part in enumerate((names[: len(names) // 2], names[len(names) // 2 :]), start=1):
        file_name = f"pytorch_model-0000{number}-of-00002.bin"
        torch.save({name: state[name] for name in part}, target / file_name)
        weight_map |= {name: file_name for name in part}
    (target / "pytorch_model.bin.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return target


def test_bin_shards_load_like_safetensors(tmp_path: Path, tiny_model_dir: Path, tiny_fp32) -> None:
    folder = write_bin_shards(tiny_model_dir, tmp_path / "bin")
    model, _ = load_model(folder, quantization="fp32")
    ids = torch.tensor([[10, 11, 12, 13, 14]])
    with torch.no_grad():
        torch.testing.assert_close(model(ids).logits, tiny_fp32[0](ids).logits, atol=1e-5, rtol=0)
    (folder / "pytorch_model-00002-of-00002.bin").unlink()
    with pytest.raises(MissingShardsError, match="pytorch_model-00002-of-00002.bin"):
        load_model(folder)


def test_a_tensor_missing_from_a_shard_is_refused(tmp_path: Path, tiny_model_dir: Path) -> None:
    """Without this check the missing expert would silently keep random weights."""
    from safetensors.torch import load_file, save_file

    folder = Path(shutil.copytree(tiny_model_dir, tmp_path / "gap"))
    index_path = folder / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    victim = "model.layers.1.mlp.experts.5.down_proj.weight"
    shard = folder / index["weight_map"].pop(victim)
    tensors = load_file(shard)
    del tensors[victim]
    save_file(tensors, shard, metadata={"format": "pt"})
    index_path.write_text(json.dumps(index))
    with pytest.raises(MissingShardsError, match="experts.5.down_proj"):
        load_model(folder)


def test_dense_shape_estimate() -> None:
    """Dense XVERSE (7B-like shape) has one plain MLP per layer and no router."""
    dense = XverseConfig(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, vocab_size=100534)
    sizes = estimate_memory(dense, "bf16", 4096)
    assert "router" not in sizes and sizes["mlp"] == 32 * 3 * 4096 * 11008 * 2
    assert 13 * GIB < sizes["weights"] < 16 * GIB
