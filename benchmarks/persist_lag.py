"""Streamed-text save lag: how long after a chunk arrives from the engine it is in the SQLite file.

The studio promises streamed text is saved at most 0.5 s after it arrives (DESIGN.md, reliability), so a
crash loses at most that much. This runs the real GenerationRun → PassageSink → Store path on the tiny
XVERSE-MoE (a real SQLite file), stamps every chunk as the engine yields it and every partial save as
it commits, and reports, per chunk, the time until a save holding it committed: p50/p95/max and their
ratio to the 0.5 s goal, with `--load` busy processes competing for the CPU (a loaded laptop).

Usage: python benchmarks/persist_lag.py [--tokens 1500] [--load 2] [--interval 0.25]
Prints one JSON line per load level.
"""

from __future__ import annotations

import argparse
import bisect
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOAL_S = 0.5


class StampedEngine:
    """The real engine, with the arrival time and running text length of each chunk recorded."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.arrivals: list[tuple[float, int]] = []  # (monotonic s, characters so far)

    def stream(self, request, cancel=None):
        from app.engine import Chunk

        length = 0
        for event in self.engine.stream(request, cancel):
            if isinstance(event, Chunk):
                length += len(event.text)
                self.arrivals.append((time.monotonic(), length))
            yield event


def stamped_sink(store, passage_id: int):
    from app.studio.sinks import PassageSink

    class StampedSink(PassageSink):
        saves: list[tuple[float, int]] = []  # (monotonic s after the commit, characters saved)

        def save_partial(self, texts: tuple[str, ...]) -> None:
            super().save_partial(texts)
            self.saves.append((time.monotonic(), len(texts[0])))

        def save_final(self, texts: tuple[str, ...], reasons: tuple[str, ...]) -> None:
            super().save_final(texts, reasons)
            self.saves.append((time.monotonic(), len(texts[0])))

    return StampedSink(store, (passage_id,))


def lags(arrivals: list[tuple[float, int]], saves: list[tuple[float, int]]) -> list[float]:
    """For each arrival, seconds until the first save at or after it that holds its text."""
    result = []
    save_times = [t for t, _ in saves]
    for arrived, length in arrivals:
        start = bisect.bisect_left(save_times, arrived)
        saved = next((t for t, n in saves[start:] if n >= length), None)
        if saved is not None:
            result.append(saved - arrived)
    return result


def busy(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def one_run(engine, store, tokens: int, interval: float) -> list[float]:
    from app.engine import GenerationRequest
    from app.studio.runs import GenerationRun

    project = store.create_project("稿", language="zh")
    chapter = store.create_chapter(project.id, title="一")
    passage = store.create_passage(project.id, chapter_id=chapter.id, task="draft", status="streaming")
    stamped, sink = StampedEngine(engine), stamped_sink(store, passage.id)
    run = GenerationRun(stamped, GenerationRequest(prompt="山门初开，" * 20, max_new_tokens=tokens, seed=7), sink,
                        persist_interval_s=interval)
    run.start()
    for _ in run.snapshots(0.05):  # the UI's consumer, as the studio runs it
        pass
    run.close()
    return lags(stamped.arrivals, sink.saves)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=1500)
    parser.add_argument("--load", type=int, default=2, help="busy processes for the loaded measurement")
    parser.add_argument("--interval", type=float, default=0.25, help="the studio's persist interval (s)")
    args = parser.parse_args()

    import torch

    import app.engine.xverse  # noqa: F401 - registers the model with the Auto classes
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from app.engine.tiny import build_tiny_checkpoint
    from app.engine.transformers_engine import TransformersEngine
    from story_store import Store

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_checkpoint(Path(tmp) / "tiny")
        model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
        engine = TransformersEngine(model, AutoTokenizer.from_pretrained(model_dir), model_id="tiny-xverse",
                                    context_length=4096)
        store = Store(f"sqlite:///{Path(tmp) / 'inkstone.db'}")
        for load in sorted({0, args.load}):
            stop = multiprocessing.Event()
            workers = [multiprocessing.Process(target=busy, args=(stop,), daemon=True) for _ in range(load)]
            for worker in workers:
                worker.start()
            try:
                measured = one_run(engine, store, args.tokens, args.interval)
            finally:
                stop.set()
                for worker in workers:
                    worker.join()
            ordered = sorted(measured)
            p95 = ordered[int(0.95 * (len(ordered) - 1))]
            print(json.dumps({"bench": "persist_lag", "busy_processes": load, "chunks": len(ordered),
                              "interval_s": args.interval, "p50_over_goal": round(statistics.median(ordered) / GOAL_S, 3),
                              "p95_over_goal": round(p95 / GOAL_S, 3), "max_over_goal": round(ordered[-1] / GOAL_S, 3)}))
        store.close()


if __name__ == "__main__":
    main()
