"""Deterministic builder of a tiny random XVERSE-MoE checkpoint in the official on-disk format.

Writes what the official XVERSE-MoE repositories publish: config.json (model_type "xverse",
architectures ["XverseForCausalLM"], `auto_map` to remote code files that we never execute),
sharded safetensors with the official tensor names plus their index, and tokenizer.json +
tokenizer_config.json (a byte-fallback BPE, no post-processor, special ids 0-5 as the real ones).
The tokenizer is trained on the bundled zh+en text in tiny_corpus/. Used by tests and `--demo`.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import torch
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from app.engine.xverse import XverseConfig, XverseForCausalLM

# Official special tokens, in id order 0..5.
SPECIAL_TOKENS = ("<sep>", "<pad>", "<|startoftext|>", "<|endoftext|>", "<|endofprompt|>", "<|endofknowledge|>")
PAD_ID, BOS_ID, EOS_ID = 1, 2, 3
BYTE_TOKENS = tuple(f"<0x{b:02X}>" for b in range(256))
TOKENIZER_MERGE_BUDGET = 1200  # learned tokens on top of specials + 256 byte-fallback tokens
AUTO_MAP = {
    "AutoConfig": "configuration_xverse.XverseConfig",
    "AutoModelForCausalLM": "modeling_xverse.XverseForCausalLM",
}
SHARD_SIZE = "400KB"  # small enough that even the tiny model is sharded like the real ones


def build_tiny_checkpoint(
    out_dir: Path,
    *,
    hidden_size: int = 128,
    num_layers: int = 2,
    num_experts: int = 8,
    top_k: int = 2,
    num_shared_experts: int = 2,
    intermediate_size: int = 64,
    vocab_size: int | None = None,
    seed: int = 0,
) -> Path:
    """Write a tiny random XVERSE-MoE checkpoint + tokenizer into `out_dir` and return it.

    Same arguments -> byte-identical files. `vocab_size` defaults to the tokenizer's size; a larger
    value pads the embedding (as the real 100534-row vocab does); a smaller one is refused.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    vocab = tokenizer.get_vocab_size()
    if vocab_size is None:
        vocab_size = vocab
    if vocab_size < vocab:
        raise ValueError(f"vocab_size {vocab_size} is smaller than the tokenizer's {vocab} tokens")
    config = XverseConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        intermediate_size=intermediate_size,
        num_hidden_layers=num_layers,
        num_attention_heads=max(1, hidden_size // 32),
        max_position_embeddings=8192,
        num_experts=num_experts,
        moe_top_k=top_k,
        num_shared_experts=num_shared_experts,
    )
    _write_weights(config, out_dir, seed)
    _write_official_config(out_dir)
    _write_tokenizer(tokenizer, out_dir)
    return out_dir


def _write_weights(config: XverseConfig, out_dir: Path, seed: int) -> None:
    """Random fp32 weights (seeded, independent of the global RNG) as sharded safetensors."""
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        model = XverseForCausalLM(config)
    finally:
        torch.random.set_rng_state(generator_state)
    model.save_pretrained(out_dir, max_shard_size=SHARD_SIZE)


def _write_official_config(out_dir: Path) -> None:
    """Make config.json look like the published one: architectures + auto_map to remote code."""
    path = out_dir / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["architectures"] = ["XverseForCausalLM"]
    config["auto_map"] = AUTO_MAP
    for derived_key in ("transformers_version", "ntk_factor"):
        config.pop(derived_key, None)
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def corpus_text() -> str:
    """The bundled zh + en training text for the tiny tokenizer."""
    folder = resources.files("app.engine") / "tiny_corpus"
    return "\n".join((folder / name).read_text(encoding="utf-8") for name in ("zh.txt", "en.txt"))


def build_tokenizer() -> Tokenizer:
    """Byte-fallback BPE: ids 0-5 special, 6-261 the byte tokens <0x00>..<0xFF>, then merges."""
    trainer = trainers.BpeTrainer(
        vocab_size=len(SPECIAL_TOKENS) + TOKENIZER_MERGE_BUDGET, show_progress=False, special_tokens=[]
    )
    learner = Tokenizer(models.BPE())
    learner.pre_tokenizer = _pre_tokenizer()
    learner.train_from_iterator(corpus_text().splitlines(keepends=True), trainer=trainer)
    learned = json.loads(learner.to_str())["model"]
    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS + BYTE_TOKENS)}
    for token, _ in sorted(learned["vocab"].items(), key=lambda item: item[1]):
        vocab.setdefault(token, len(vocab))
    pairs = (m.split(" ", 1) if isinstance(m, str) else m for m in learned["merges"])
    merges: list[tuple[str, str]] = [(left, right) for left, right in pairs]
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=True, fuse_unk=False))
    tokenizer.pre_tokenizer = _pre_tokenizer()
    tokenizer.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    return tokenizer


def _pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    """Split words (with one leading space), single digits, symbol/CJK runs and whitespace runs.

    Text is kept verbatim (no normalizer, no space marker), so decode(encode(text)) == text.
    """
    pattern = Regex(r" ?[A-Za-z]+| ?[0-9]| ?[^\sA-Za-z0-9]+|\s+")
    return pre_tokenizers.Split(pattern, behavior="isolated")


def _write_tokenizer(tokenizer: Tokenizer, out_dir: Path) -> None:
    """tokenizer.json + tokenizer_config.json (PreTrainedTokenizerFast, no BOS added)."""
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token=SPECIAL_TOKENS[BOS_ID],
        eos_token=SPECIAL_TOKENS[EOS_ID],
        pad_token=SPECIAL_TOKENS[PAD_ID],
        sep_token=SPECIAL_TOKENS[0],
        padding_side="left",
        model_max_length=8192,
        clean_up_tokenization_spaces=False,
    )
    fast.save_pretrained(out_dir)
    path = out_dir / "tokenizer_config.json"
    tokenizer_config = json.loads(path.read_text(encoding="utf-8"))
    tokenizer_config["tokenizer_class"] = "PreTrainedTokenizerFast"  # as the official repositories
    path.write_text(json.dumps(tokenizer_config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
