"""Generation feedback for the writer: tokens so far, tokens/s, elapsed, an ETA, and a plain-language finish.

Pure formatting over numbers the handlers measure (a `RunClock` per run, the studio's token count of
the streamed text); the words come from the string table, never from here. The ETA assumes the run
goes to its token limit at the current rate (an upper bound: the model may stop earlier).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from app.ui.strings import enum_label, t

FINISH_KEYS = {
    "stop": "finish_stop",
    "length": "finish_length",
    "cancelled": "finish_cancelled",
    "error": "finish_error",
}


@dataclass(frozen=True)
class Figures:
    tokens: int
    elapsed_s: float
    rate: float  # tokens per second (0 until the first token)
    eta_s: float | None  # seconds to the token limit at this rate; None while unknown


def figures(tokens: int, elapsed_s: float, max_tokens: int) -> Figures:
    elapsed_s = max(0.0, elapsed_s)
    rate = tokens / elapsed_s if tokens and elapsed_s > 0 else 0.0
    eta = max(0.0, (max_tokens - tokens) / rate) if rate > 0 and max_tokens > 0 else None
    return Figures(tokens=tokens, elapsed_s=elapsed_s, rate=rate, eta_s=eta)


@dataclass
class RunClock:
    """When a run started and how far it may go; `now` is injectable for tests."""

    max_tokens: int
    started: float = field(default_factory=time.monotonic)

    def figures(self, tokens: int, now: float | None = None) -> Figures:
        return figures(tokens, (time.monotonic() if now is None else now) - self.started, self.max_tokens)


def _seconds(value: float) -> str:
    value = int(round(value))
    return f"{value // 60}:{value % 60:02d}" if value >= 60 else f"{value}s"


def progress_line(language: str, fig: Figures, max_tokens: int) -> str:
    """'◌ 42 / 300 tokens · 8.1 tokens/s · 5s elapsed · ≤ 32s left' in the writer's language."""
    eta = t(language, "eta_left", eta=_seconds(fig.eta_s)) if fig.eta_s is not None else t(language, "eta_unknown")
    return t(language, "progress_line", tokens=fig.tokens, max_tokens=max_tokens, rate=f"{fig.rate:.1f}",
             elapsed=_seconds(fig.elapsed_s), eta=eta)


def finish_line(language: str, reason: str, fig: Figures, *, error: str = "", polish: bool = False) -> str:
    """What happened, in plain words (no 'length'/'stop' jargon), with the run's figures. A polish cut
    short is not told to "continue" (it is reviewed, edited and accepted by hand instead)."""
    key = "finish_length_polish" if polish and reason == "length" else FINISH_KEYS.get(reason, "finish_error")  # another reason (e.g. interrupted) is named as the enum has it
    what = t(language, key, error=error or (enum_label(language, "finish", reason) if reason else "?"))
    return t(language, "finish_line", what=what, tokens=fig.tokens, rate=f"{fig.rate:.1f}",
             elapsed=_seconds(fig.elapsed_s))
