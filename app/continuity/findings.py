"""What the checker reports: findings as codes plus values (the UI renders them), and branch scores.

Invariants: a finding's `span` offsets index the checked passage (`passage[start:end] == quote`);
`kind` and `severity` are codes; `values` holds only plain data (str/int/float) for the UI's string
tables. Ranking never drops a branch: `rank_branches` returns every index exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .facts import Evidence

# kind codes
NAME_NEAR_MISS = "name_near_miss"
GLOSSARY_VARIANT = "glossary_variant"
DEAD_CHARACTER_ACTS = "dead_character_acts"
RANK_REGRESSION = "rank_regression"
OWNER_MISMATCH = "owner_mismatch"
MODEL_CONTRADICTION = "model_contradiction"
DETERMINISTIC_KINDS = (NAME_NEAR_MISS, GLOSSARY_VARIANT, DEAD_CHARACTER_ACTS, RANK_REGRESSION, OWNER_MISMATCH)

SEVERITY_WEIGHTS = {"high": 10.0, "medium": 5.0, "low": 2.0}


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    quote: str


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str  # high | medium | low
    span: Span
    fact: str  # the fact as the writer wrote it (a name, a term, `subject · attribute · value`)
    evidence: Evidence
    values: dict[str, Any] = field(default_factory=dict)  # e.g. {"expected": "林微", "found": "林薇"}
    layer: str = "rules"  # rules | model

    @property
    def weight(self) -> float:
        return SEVERITY_WEIGHTS[self.severity]


@dataclass(frozen=True)
class BranchScore:
    """consistency = −Σ severity weights; total = consistency + mean log-likelihood (higher is better)."""

    index: int
    consistency: float
    mean_logprob: float | None  # None when the engine cannot score (e.g. a remote server)
    findings: tuple[Finding, ...]

    @property
    def total(self) -> float:
        return self.consistency + (self.mean_logprob or 0.0)

    @property
    def reasons(self) -> tuple[str, ...]:
        """The finding kinds, most severe first (codes, one per finding)."""
        ordered = sorted(self.findings, key=lambda f: -f.weight)
        return tuple(f.kind for f in ordered)


def branch_score(index: int, findings: Sequence[Finding], mean_logprob: float | None) -> BranchScore:
    penalty = sum(f.weight for f in findings)
    return BranchScore(index, -penalty, mean_logprob, tuple(findings))


def rank_branches(scores: Sequence[BranchScore]) -> list[BranchScore]:
    """Every branch, best first (ties keep the generation order)."""
    return sorted(scores, key=lambda s: (-s.total, s.index))


def dedupe(findings: Sequence[Finding]) -> list[Finding]:
    """One finding per (kind, span), in passage order."""
    seen: set[tuple[str, int, int]] = set()
    kept: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.span.start, f.span.end, f.kind)):
        key = (finding.kind, finding.span.start, finding.span.end)
        if key not in seen:
            seen.add(key)
            kept.append(finding)
    return kept
