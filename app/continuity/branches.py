"""Branch ranking: each branch's rule (and optional model) findings plus its mean log-likelihood.

Never hides or drops a branch: `score_branches` returns one BranchScore per text, in generation
order; `rank_branches` (findings.py) only orders them.
"""

from __future__ import annotations

from collections.abc import Sequence

from .checker import check_passage
from .facts import StoryFacts
from .findings import BranchScore, branch_score


def score_branches(texts: Sequence[str], facts: StoryFacts, chapter: int | None,
                   mean_logprobs: Sequence[float | None] | None = None) -> list[BranchScore]:
    means = list(mean_logprobs) if mean_logprobs is not None else [None] * len(texts)
    if len(means) != len(texts):
        raise ValueError("one mean log-likelihood per branch")
    return [branch_score(i, check_passage(text, facts, chapter), mean) for i, (text, mean) in enumerate(zip(texts, means))]
