"""Continuity checker on a synthetic book (zh and en): precision, recall and speed of the rule layer,
and the model layer's figures on the tiny random demo model (labelled: they say nothing of real models).

Passages are real prose from shared/corpus with one inserted sentence each: a planted contradiction of
each kind, or a hard negative (see continuity_book.py). A rule finding is a true positive when its
kind is the planted kind and its span overlaps the inserted sentence; every other finding is a false
positive. Spellings the novel itself uses ≥3 times are "established" (StoryFacts.allowed), as the
studio does with the book's earlier chapters. Time is for `check_passage` only, in ms per 10k chars.
Prints one JSON line per language and layer; the LAST line sums the rule layer over both languages.
Usage: nice -n 10 python benchmarks/continuity_bench.py [--per-kind 24] [--clean 120] [--model 40]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from continuity_book import Book, Case, build_book, cases  # noqa: E402

from app.continuity import check_passage, model_verdicts  # noqa: E402
from app.continuity.names import established_spellings  # noqa: E402

CORPUS = {"zh": "hongloumeng.md", "en": "pride_and_prejudice.txt"}
FACT_KINDS = ("dead_character_acts", "rank_regression", "owner_mismatch")


def rule_figures(book: Book, every: list[Case]) -> dict:
    gaps = [c for c in every if c.kind == "gap"]
    made = [c for c in every if c.kind != "gap"]
    tp = fp = 0
    found_kinds: Counter[str] = Counter()
    planted_kinds: Counter[str] = Counter(c.kind for c in made if c.kind)
    false_examples: list[str] = []
    chars, started = 0, time.perf_counter()
    results = [check_passage(c.passage, book.facts, c.chapter) for c in made]
    elapsed = time.perf_counter() - started
    for case, findings in zip(made, results):
        chars += len(case.passage)
        hit = False
        for f in findings:
            if case.kind == f.kind and f.span.start < case.span[1] and case.span[0] < f.span.end:
                tp += 1
                hit = True
            else:
                fp += 1
                false_examples.append(f"{f.kind}:{f.span.quote}")
        if hit:
            found_kinds[case.kind or ""] += 1
    planted = sum(planted_kinds.values())
    gap_found = sum(1 for c in gaps if any(f.span.start < c.span[1] and c.span[0] < f.span.end
                                           for f in check_passage(c.passage, book.facts, c.chapter)))
    return {"known_gaps_caught": f"{gap_found}/{len(gaps)}","planted": planted, "clean": len(made) - planted, "tp": tp, "fp": fp,
            "precision": round(tp / max(1, tp + fp), 3), "recall": round(sum(found_kinds.values()) / planted, 3),
            "recall_by_kind": {k: round(found_kinds[k] / n, 3) for k, n in sorted(planted_kinds.items())},
            "ms_per_10k_chars": round(elapsed * 1000 * 10_000 / chars, 2), "false_positives": false_examples[:8]}


def model_figures(book: Book, made: list[Case], limit: int, engine) -> dict:
    """p(contradicts) from the tiny model for fact cases: planted fact contradictions vs clean ones."""
    score = lambda prompt, answers: [s.logprob for s in engine.score(prompt, answers)]  # noqa: E731
    rows: list[tuple[bool, float]] = []
    started, asked = time.perf_counter(), 0
    planted = [c for c in made if c.kind in FACT_KINDS][: limit // 2]
    clean = [c for c in made if c.kind is None][: limit - len(planted)]
    for case in planted + clean:
        sentence = case.passage[case.span[0]:case.span[1]]
        for verdict in model_verdicts(sentence, book.facts, chapter=case.chapter, title="Book", score=score):
            rows.append((case.kind in FACT_KINDS, verdict.p_contradicts))
            asked += 1
    elapsed = time.perf_counter() - started
    positives = [p for truth, p in rows if truth]  # clean sentences that mention no fact ask nothing
    negatives = [p for truth, p in rows if not truth]
    pairs = [(a > b) + 0.5 * (a == b) for a in positives for b in negatives]
    predicted = [(truth, p >= 0.5) for truth, p in rows]
    tp = sum(1 for t, p in predicted if t and p)
    return {"layer": "model", "model": "tiny random demo model (labelled: not a real model)", "questions": asked,
            "auc": round(sum(pairs) / len(pairs), 3) if pairs else None,
            "precision_at_0.5": round(tp / max(1, sum(p for _, p in predicted)), 3),
            "recall_at_0.5": round(tp / max(1, sum(t for t, _ in predicted)), 3),
            "ms_per_question": round(elapsed * 1000 / max(1, asked), 1)}


def tiny_engine():
    import torch

    import app.engine.xverse  # noqa: F401 - registers the model with the Auto classes
    from app.engine.tiny import build_tiny_checkpoint
    from app.engine.transformers_engine import TransformersEngine
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(1)
    path = build_tiny_checkpoint(Path(tempfile.mkdtemp(prefix="tiny-xverse-")))
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    return TransformersEngine(model, AutoTokenizer.from_pretrained(path), model_id="tiny", context_length=2048)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-kind", type=int, default=24)
    parser.add_argument("--clean", type=int, default=120)
    parser.add_argument("--model", type=int, default=40, help="cases scored by the tiny model (0: skip)")
    parser.add_argument("--corpus", type=Path, default=ROOT / "../shared/corpus")
    args = parser.parse_args()
    engine = tiny_engine() if args.model else None
    totals: Counter[str] = Counter()
    for language in ("zh", "en"):
        rng = random.Random(20261201)
        book = build_book(language)
        prose = (args.corpus / CORPUS[language]).read_text(encoding="utf-8")
        started = time.perf_counter()
        allowed = established_spellings(prose, book.facts, min_count=3)
        book = dataclasses.replace(book, facts=dataclasses.replace(book.facts, allowed=allowed))
        made = cases(book, prose, args.per_kind, args.clean, rng)
        figures = {"language": language, "layer": "rules", **rule_figures(book, made),
                   "established_spellings": sorted(allowed)[:12],
                   "established_scan_s": round(time.perf_counter() - started, 2)}
        print(json.dumps(figures, ensure_ascii=False))
        totals.update({"tp": figures["tp"], "fp": figures["fp"], "planted": figures["planted"],
                       "found": round(figures["recall"] * figures["planted"])})
        if engine is not None:
            print(json.dumps({"language": language, **model_figures(book, made, args.model, engine)}))
    print(json.dumps({"rules_precision": round(totals["tp"] / max(1, totals["tp"] + totals["fp"]), 3),
                      "rules_recall": round(totals["found"] / totals["planted"], 3)}))


if __name__ == "__main__":
    main()
