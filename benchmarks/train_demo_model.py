"""Train the demo XVERSE-MoE from scratch on ../shared/corpus and write it to app/engine/demo_model.

    nice -n 10 python benchmarks/train_demo_model.py --minutes 33 --out app/engine/demo_model

Prints progress lines, then the held-out perplexity of the trained model and of random weights
(same architecture and tokenizer), and a JSON last line with all figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.training.demo_model import DemoShape, load_books, new_demo_model, prepare_data, save_demo, train_from_scratch  # noqa: E402
from app.training.perplexity import perplexity  # noqa: E402
from app.training.trainer import Progress, TrainConfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--out", type=Path, default=ROOT / "app" / "engine" / "demo_model")
    parser.add_argument("--work", type=Path, default=ROOT / "artifacts" / "demo_train")
    parser.add_argument("--minutes", type=float, default=33.0)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq", type=int, default=512)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--eval-tokens", type=int, default=20000)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    shape = DemoShape(num_layers=args.layers)
    started = time.monotonic()
    split = load_books(args.corpus / "hongloumeng.md", args.corpus / "pride_and_prejudice.txt")
    data = prepare_data(split, shape)
    print(f"tokenizer {data.tokenizer.get_vocab_size()} tokens; train {data.train_ids.numel()} tokens "
          f"({len(split.train)} docs); held-out {data.heldout_ids.numel()} tokens ({len(split.heldout)} docs); "
          f"prep {time.monotonic() - started:.0f}s", flush=True)
    model = new_demo_model(shape, data.tokenizer.get_vocab_size())
    print(f"parameters {sum(p.numel() for p in model.parameters())}", flush=True)
    heldout = data.heldout_ids[: args.eval_tokens]
    random_ppl = perplexity(model, heldout, window=args.seq)
    print(f"random-weights held-out perplexity {random_ppl.perplexity:.1f}", flush=True)
    config = TrainConfig(steps=args.steps, learning_rate=args.lr, warmup_steps=100,
                         checkpoint_every=100, time_budget_s=args.minutes * 60)

    def report(progress: Progress) -> None:
        if progress.step % 10 == 0 or progress.step == 1:
            print(f"step {progress.step}/{progress.total_steps} loss {progress.loss:.3f} "
                  f"elapsed {progress.elapsed_s:.0f}s eta {progress.eta_s:.0f}s", flush=True)

    result = train_from_scratch(model, data, config, batch_size=args.batch, seq_len=args.seq,
                                checkpoint_dir=args.work, on_progress=report)
    trained_ppl = perplexity(model, heldout, window=args.seq)
    save_demo(model, data.tokenizer, args.out)
    curve = [(s, round(v, 3)) for s, v in result.losses if s % 100 == 0 or s == 1]
    print(json.dumps({"status": result.status, "steps": result.steps_done, "train_s": round(result.elapsed_s),
                      "batch": args.batch, "seq": args.seq, "tokens_seen": result.steps_done * args.batch * args.seq,
                      "shape": asdict(shape), "vocab": data.tokenizer.get_vocab_size(),
                      "heldout_tokens": heldout.numel(), "ppl_method": trained_ppl.method,
                      "heldout_ppl_trained": round(trained_ppl.perplexity, 2),
                      "heldout_ppl_random": round(random_ppl.perplexity, 1), "loss_curve": curve}))


if __name__ == "__main__":
    main()
