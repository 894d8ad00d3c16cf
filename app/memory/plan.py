"""What a prompt is made of: the task asked for, and the ContextPlan the builder returns.

Owns the plan's shape (ordered sections of items, each with its token count under the model's own
tokenizer and the reason it was included, trimmed or left out) and the token-count cache.
Invariant: `count_tokens(plan.render()) == plan.used_tokens <= plan.budget`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from messages import CodedError, Message

INCLUDED, TRIMMED, LEFT_OUT = "included", "trimmed", "left_out"


class ContextBudgetError(CodedError, ValueError):
    """The task's own text (template + required values) does not fit the token budget."""


@dataclass(frozen=True)
class ChatLine:
    speaker: str
    text: str


@dataclass(frozen=True)
class ContextTask:
    """A template name and its own values.

    `values` are the template's task values (see `prompts.template_variables`): e.g. polish takes
    passage, preset, instruction; roleplay takes char_name, user_name; character_bio takes name,
    notes; outline takes premise, character_notes (and optional chapter_count); brainstorm an
    optional count; summary an optional max_chars; short_video topic (optional duration_s);
    script_outline premise. They override the project/chapter values of the same name.
    `recent_text` is the text before the cursor (None: the current chapter's whole text);
    `transcript` is the role-play conversation, oldest first; `focus_character_ids` are always
    included (the role-play partner)."""

    template: str
    values: Mapping[str, Any] = field(default_factory=dict)
    recent_text: str | None = None
    transcript: tuple[ChatLine, ...] = ()
    focus_character_ids: tuple[int, ...] = ()
    # Knowledge cutoff ("as of chapter N"): only chapters with ordinal ≤ N (their text, summaries and
    # retrieved passages) reach the prompt; the plan's frame section names the cutoff. None: no cutoff.
    as_of_chapter: int | None = None


@dataclass(frozen=True)
class PlanItem:
    label: str | Message  # a name or title from the story (data), or a Message ("recent text")
    text: str
    tokens: int
    status: str  # included | trimmed | left_out
    reason: str | Message  # a Message (code + values) the inspector renders in the writer's language


@dataclass(frozen=True)
class PlanSection:
    name: str
    items: tuple[PlanItem, ...]

    @property
    def tokens(self) -> int:
        return sum(i.tokens for i in self.items if i.status != LEFT_OUT)


@dataclass(frozen=True)
class ContextPlan:
    task: str
    language: str
    sections: tuple[PlanSection, ...]  # in prompt order, stable first
    budget: int
    used_tokens: int  # count_tokens(prompt), measured on the final text
    stop: tuple[str, ...]
    prompt: str

    def render(self) -> str:
        """The final prompt (already built and measured against the budget)."""
        return self.prompt

    def section(self, name: str) -> PlanSection:
        for section in self.sections:
            if section.name == name:
                return section
        raise KeyError(f"no section {name!r} in this plan")

    def items(self, status: str | None = None) -> list[PlanItem]:
        return [i for s in self.sections for i in s.items if status is None or i.status == status]


class TokenCache:
    """Memoizes a token counter by text (bounded; oldest entries evicted first). While `provisional()`
    is true (a model still loading: its counts are estimates) counts are returned but not kept."""

    def __init__(self, count_tokens: Callable[[str], int], max_entries: int = 50_000,
                 provisional: Callable[[], bool] = lambda: False) -> None:
        self._count = count_tokens
        self._max = max_entries
        self._provisional = provisional
        self._cache: dict[str, int] = {}

    @classmethod
    def wrap(cls, count_tokens: Callable[[str], int]) -> TokenCache:
        return count_tokens if isinstance(count_tokens, TokenCache) else cls(count_tokens)

    def __call__(self, text: str) -> int:
        cached = self._cache.get(text)
        if cached is None:
            cached = int(self._count(text))
            if self._provisional():
                return cached
            if len(self._cache) >= self._max:
                self._cache.pop(next(iter(self._cache)))
            self._cache[text] = cached
        return cached
