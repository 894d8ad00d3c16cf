"""DPO on the writer's choices, on the trained demo model: the margin (policy vs the base, chosen vs
rejected) is 0 for a fresh adapter and positive after the DPO steps; LM steps then DPO steps run as one
resumable job; the adapter records the figures."""

from __future__ import annotations

import torch

from app.training.adapters import AdapterStore
from app.training.finetune import FineTuneJob, FineTuneRequest
from app.training.lora import LoraSpec, attach_lora, load_base_for_training
from app.training.preference import dpo_loss, encode_pairs, pairs_for_step, preference_margins

JOB_TIMEOUT_S = 600
# What a writer kept (chosen) over what the model offered (rejected), after a chapter's prompt.
PAIRS = (
    ("第一章 雨夜\n\n", "雨一直下到天亮，她把伞留在了门口。", "天天天天天天天天天天天天"),
    ("第二章 灯\n\n", "灯芯跳了一下，屋里的人都不说话了。", "的的的的的的的的的的的的"),
    ("Chapter 3\n\n", "The rain kept on until morning, and she left the umbrella at the door.",
     "the the the the the the the the the"),
)


def test_a_fresh_adapter_has_zero_margin_and_dpo_steps_make_it_positive(demo_model_dir):
    torch.manual_seed(0)
    model, tokenizer = load_base_for_training(demo_model_dir, "fp32")
    peft_model = attach_lora(model, LoraSpec())
    encode = lambda text: tokenizer.encode(text, add_special_tokens=False)  # noqa: E731
    pairs = encode_pairs(PAIRS, encode, int(tokenizer.eos_token_id), max_len=64)
    assert len(pairs) == 3 and all(len(p.chosen) <= 32 and p.prompt for p in pairs)
    assert max(abs(m) for m in preference_margins(peft_model, pairs)) < 1e-4  # LoRA starts as the identity
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=5e-3)
    with torch.no_grad():
        before = float(dpo_loss(peft_model, pairs, beta=0.1))
    for step in range(12):
        loss = dpo_loss(peft_model, pairs_for_step(pairs, step, 2), beta=0.1)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = float(dpo_loss(peft_model, pairs, beta=0.1))
    margins = preference_margins(peft_model, pairs)
    print(f"DPO loss {before:.4f} -> {after:.4f}; margins {[round(m, 2) for m in margins]}")
    assert abs(before - 0.6931) < 1e-3  # -log σ(0)
    assert after < before and all(m > 0 for m in margins)


def test_lm_then_dpo_steps_run_as_one_job_and_the_adapter_records_them(demo_model_dir, writer_texts, tmp_path):
    train, heldout = writer_texts
    request = FineTuneRequest("book", "chosen-style", train, heldout, steps=6, seq_len=48, batch_size=2,
                              learning_rate=4e-3, checkpoint_every=4, preference_pairs=PAIRS, dpo_steps=10)
    assert request.total_steps == 16
    adapters = AdapterStore(tmp_path / "adapters")
    state = FineTuneJob(demo_model_dir, "demo", adapters, tmp_path / "work", request).start().wait(JOB_TIMEOUT_S)
    assert state.status == "finished", state
    assert state.step == state.total_steps == 16
    metrics = adapters.get("book", "chosen-style").metrics
    assert metrics["dpo_pairs"] == 3 and metrics["dpo_margin_mean"] > 0 and metrics["dpo_accuracy"] > 0.5
    assert metrics["heldout_ppl_adapter"] > 1.0
