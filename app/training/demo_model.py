"""From-scratch mode of the trainer: the demo XVERSE-MoE trained on public-domain novels.

Owns the demo model's shape (same architecture as the real XVERSE-MoE checkpoints, tiny widths),
its tokenizer (the byte-fallback BPE of app.engine.tiny, learned from the same training text),
the corpus split (the last chapters of each book are held out) and the packed training stream.
The command that runs it is benchmarks/train_demo_model.py; the result is written in the official
on-disk format with app.engine.tiny.save_official_checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer

from app.engine.tiny import EOS_ID, save_official_checkpoint, train_tokenizer
from app.engine.xverse import XverseConfig, XverseForCausalLM
from app.training.corpus import EN_HEADING, ZH_HEADING, CorpusSplit, pack, sample_windows, split_books, split_chapters
from app.training.trainer import Progress, TrainConfig, Trainer, TrainResult


@dataclass(frozen=True)
class DemoShape:
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    num_experts: int = 8
    top_k: int = 2
    num_shared_experts: int = 2
    expert_width: int = 128
    merge_budget: int = 7400  # learned tokens: every character of the corpus plus merges


@dataclass(frozen=True)
class DemoData:
    split: CorpusSplit
    tokenizer: Tokenizer
    train_ids: torch.Tensor  # [L] packed training stream
    heldout_ids: torch.Tensor  # [L'] packed held-out stream


def load_books(zh_path: Path, en_path: Path, heldout_chapters: int = 2, seed: int = 0) -> CorpusSplit:
    books = [
        split_chapters(Path(zh_path).read_text(encoding="utf-8"), ZH_HEADING),
        split_chapters(Path(en_path).read_text(encoding="utf-8"), EN_HEADING),
    ]
    return split_books(books, heldout_chapters, seed)


def prepare_data(split: CorpusSplit, shape: DemoShape) -> DemoData:
    """Learn the tokenizer on the training documents and pack both splits into token streams."""
    lines = [line for doc in split.train for line in doc.splitlines(keepends=True)]
    tokenizer = train_tokenizer(lines, shape.merge_budget)
    encode = _encoder(tokenizer)
    return DemoData(split, tokenizer, pack(split.train, encode, EOS_ID), pack(split.heldout, encode, EOS_ID))


def _encoder(tokenizer: Tokenizer) -> Callable[[str], list[int]]:
    return lambda text: tokenizer.encode(text, add_special_tokens=False).ids


def new_demo_model(shape: DemoShape, vocab_size: int, seed: int = 0) -> XverseForCausalLM:
    torch.manual_seed(seed)
    config = XverseConfig(
        vocab_size=vocab_size, hidden_size=shape.hidden_size, intermediate_size=shape.expert_width,
        num_hidden_layers=shape.num_layers, num_attention_heads=shape.num_heads, max_position_embeddings=8192,
        num_experts=shape.num_experts, moe_top_k=shape.top_k, num_shared_experts=shape.num_shared_experts,
    )
    return XverseForCausalLM(config)


def train_from_scratch(model: XverseForCausalLM, data: DemoData, config: TrainConfig, *, batch_size: int,
                       seq_len: int, checkpoint_dir: Path | None = None, seed: int = 0,
                       on_progress: Callable[[Progress], None] | None = None) -> TrainResult:
    """Full-parameter training on random windows of the packed stream (window b is seeded by b)."""
    def batches(step: int) -> torch.Tensor:
        return sample_windows(data.train_ids, batch_size, seq_len, seed * 1_000_003 + step)

    trainer = Trainer(model, batches, config, checkpoint_dir, on_progress)
    return trainer.run()


def save_demo(model: XverseForCausalLM, tokenizer: Tokenizer, out_dir: Path) -> Path:
    """bf16 weights, as the real checkpoints, in the official format (config.json records the dtype)."""
    model = model.bfloat16()
    return save_official_checkpoint(model, tokenizer, out_dir, shard_size="10MB")


def write_heldout(split: CorpusSplit, out_dir: Path, chars: int = 6000) -> list[Path]:
    """Ship the first `chars` characters of the held-out documents of each language with the model,
    so tests can measure its perplexity without the corpus folder."""
    folder = Path(out_dir) / "eval"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for language, is_lang in (("zh", _is_chinese), ("en", lambda doc: not _is_chinese(doc))):
        text = "\n\n".join(doc for doc in split.heldout if is_lang(doc))[:chars]
        path = folder / f"heldout_{language}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _is_chinese(doc: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in doc[:80])
