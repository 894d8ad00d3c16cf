"""Engine fixtures: the real tiny XVERSE-MoE (main target) and a tiny random Llama (any HF causal LM)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

TRAINING_TEXT = [
    "The lantern swung over the harbour while the ferryman counted the coins twice.",
    "She kept the map folded inside her boot, where the rain could not reach it.",
    "夜色渐深，山门外的石阶上落满了松针，少年提着灯笼慢慢往上走。",
    "师父说剑意不在剑上，而在心里；他听了三年，才明白这句话。",
    "Old roads remember every traveller; new roads only remember the rain.",
]





def build_byte_fallback_tokenizer(out_dir: Path):
    """A small BPE tokenizer with byte fallback (rare CJK characters become <0xNN> byte tokens)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<sep>", "<pad>", "<|startoftext|>", "<|endoftext|>"]
    byte_tokens = [f"<0x{b:02X}>" for b in range(256)]
    tok = Tokenizer(models.BPE(byte_fallback=True, unk_token=None))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.pre_tokenizer = pre_tokenizers.Split("▁", behavior="merged_with_next")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials + byte_tokens, show_progress=False)
    tok.train_from_iterator(TRAINING_TEXT * 4, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|startoftext|>", eos_token="<|endoftext|>",
                                   pad_token="<pad>")
    fast.save_pretrained(out_dir)
    return fast


@pytest.fixture(scope="session")
def llama_parts(tmp_path_factory: pytest.TempPathFactory):
    """(model, tokenizer): a tiny random LlamaForCausalLM in fp32 on CPU."""
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_byte_fallback_tokenizer(tmp_path_factory.mktemp("llama-tok"))
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=1024,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    return model, tokenizer





@pytest.fixture()
def engine(tiny_parts):
    """A fresh TransformersEngine (empty prefix cache) over the shared tiny model."""
    from app.engine.transformers_engine import TransformersEngine

    model, tokenizer = tiny_parts
    return TransformersEngine(model, tokenizer, model_id="tiny-xverse", context_length=2048)


@pytest.fixture(scope="module")
def fused_model(tiny_parts):
    """The tiny XVERSE-MoE as the engine runs it: stacked experts for the fused MoE, q/k/v and gate/up
    fused (a copy per test module, so no module sees another's changes)."""
    import copy

    from app.engine.fused_moe import install_fused_moe
    from app.engine.fusion import fuse_projections

    model = copy.deepcopy(tiny_parts[0])
    install_fused_moe(model)
    fuse_projections(model)
    return model
