"""The tiny checkpoint is in the official on-disk format, deterministic, and loads through the Auto
classes without ever running the remote code its config.json points to."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from app.engine.tiny import AUTO_MAP, SPECIAL_TOKENS, build_tiny_checkpoint

REMOTE_CODE = """from pathlib import Path
Path(__file__).with_name("REMOTE_CODE_RAN").write_text("ran")
raise RuntimeError("remote code must never run")
"""


def official_names(config: dict) -> set[str]:
    """Every tensor name the official XVERSE-MoE checkpoint has, for this config."""
    names = {"model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"}
    for layer in range(config["num_hidden_layers"]):
        prefix = f"model.layers.{layer}"
        names |= {f"{prefix}.input_layernorm.weight", f"{prefix}.post_attention_layernorm.weight"}
        names |= {f"{prefix}.self_attn.{p}_proj.weight" for p in "qkvo"}
        names.add(f"{prefix}.mlp.router.weight")
        for part in ("gate_proj", "up_proj", "down_proj"):
            names.add(f"{prefix}.mlp.shared_experts.{part}.weight")
            names |= {f"{prefix}.mlp.experts.{e}.{part}.weight" for e in range(config["num_experts"])}
    return names


def stored_tensors(folder: Path) -> dict[str, tuple[int, ...]]:
    index = json.loads((folder / "model.safetensors.index.json").read_text())["weight_map"]
    shapes = {}
    for shard in sorted(set(index.values())):
        with safe_open(folder / shard, framework="pt") as handle:
            shapes |= {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
    assert set(shapes) == set(index)
    return shapes


def test_official_layout(tiny_model_dir: Path) -> None:
    config = json.loads((tiny_model_dir / "config.json").read_text())
    assert config["model_type"] == "xverse" and config["architectures"] == ["XverseForCausalLM"]
    assert config["auto_map"] == AUTO_MAP
    assert (config["pad_token_id"], config["bos_token_id"], config["eos_token_id"]) == (1, 2, 3)
    shapes = stored_tensors(tiny_model_dir)
    assert set(shapes) == official_names(config)
    experts, hidden = config["num_experts"], config["hidden_size"]
    assert shapes["model.layers.0.mlp.router.weight"] == (experts, hidden)
    shared_width = config["intermediate_size"] * config["num_shared_experts"]
    assert shapes["model.layers.1.mlp.shared_experts.up_proj.weight"] == (shared_width, hidden)
    assert len(list(tiny_model_dir.glob("model-*-of-*.safetensors"))) > 1  # sharded like the real ones
    tokenizer_config = json.loads((tiny_model_dir / "tokenizer_config.json").read_text())
    assert tokenizer_config["tokenizer_class"] == "PreTrainedTokenizerFast"


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_builder_is_deterministic_and_seeded(tmp_path: Path, tiny_model_dir: Path) -> None:
    again = build_tiny_checkpoint(tmp_path / "again")
    assert digest(again) == digest(tiny_model_dir)
    other = build_tiny_checkpoint(tmp_path / "other", seed=1)
    assert digest(other)["tokenizer.json"] == digest(tiny_model_dir)["tokenizer.json"]
    first_shard = "model-00001-of-00009.safetensors"
    assert digest(other)[first_shard] != digest(tiny_model_dir)[first_shard]


def test_builder_vocab_size(tmp_path: Path, tiny_model_dir: Path) -> None:
    tokens = len(AutoTokenizer.from_pretrained(tiny_model_dir))
    padded = build_tiny_checkpoint(tmp_path / "padded", vocab_size=tokens + 10, num_layers=1)
    assert json.loads((padded / "config.json").read_text())["vocab_size"] == tokens + 10
    with pytest.raises(ValueError, match="smaller than the tokenizer"):
        build_tiny_checkpoint(tmp_path / "small", vocab_size=tokens - 1)


def test_tokenizer_special_ids_and_round_trip(tiny_model_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert tokenizer.convert_ids_to_tokens(list(range(6))) == list(SPECIAL_TOKENS)
    assert (tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id) == (1, 2, 3)
    text = "她说：“雨停了。” Then 42 gulls 🌊 — naïve café ẞ"
    ids = tokenizer.encode(text)
    assert ids[0] != tokenizer.bos_token_id  # no post-processor: nothing is added
    assert tokenizer.decode(ids) == text  # emoji and rare letters go through byte fallback
    assert any(token.startswith("<0x") for token in tokenizer.convert_ids_to_tokens(ids))
    assert tokenizer.encode("<|endofprompt|>") == [4]


def test_save_load_round_trip_keeps_every_name(tmp_path: Path, tiny_model_dir: Path) -> None:
    import app.engine.xverse  # noqa: F401  registers the model type

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    model.save_pretrained(tmp_path / "copy", max_shard_size="300KB")
    assert set(stored_tensors(tmp_path / "copy")) == set(stored_tensors(tiny_model_dir))
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "copy")
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, reloaded.state_dict()[name]), name


@pytest.mark.parametrize("trust_remote_code", [None, False])
def test_auto_map_never_runs_remote_code(tmp_path: Path, tiny_model_dir: Path, trust_remote_code) -> None:
    """The official folder ships configuration_xverse.py / modeling_xverse.py; they must not run."""
    import app.engine.xverse as xverse

    folder = Path(shutil.copytree(tiny_model_dir, tmp_path / "official"))
    for name in ("configuration_xverse.py", "modeling_xverse.py"):
        (folder / name).write_text(REMOTE_CODE)
    kwargs = {} if trust_remote_code is None else {"trust_remote_code": trust_remote_code}
    config = AutoConfig.from_pretrained(folder, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(folder, **kwargs)
    assert type(config) is xverse.XverseConfig and type(model) is xverse.XverseForCausalLM
    assert not (folder / "REMOTE_CODE_RAN").exists()
