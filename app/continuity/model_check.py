"""The model-scored layer: for each fact relevant to a passage, ask the local model (yes/no) whether the
passage contradicts it, read from the log-probabilities of the template's two answers.

No free-form parsing: the answer strings come from the template (`answers`), the model only scores
them. `score(prompt, continuations)` is the engine's scorer as a plain callable returning one total
log-probability per continuation. p(contradicts) = softmax over the two answers' log-probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prompts import constant_list, render

from .facts import Fact, StoryFacts
from .findings import MODEL_CONTRADICTION, Finding, Span
from .text import occurrences, sentence_bounds

ScoreFn = Callable[[str, Sequence[str]], list[float]]
TEMPLATE = "continuity_check"
DEFAULT_THRESHOLD = 0.5
MAX_FACTS = 12  # facts scored per passage (the first mentioned first)
QUOTE_CHARS = 400  # the passage excerpt each question quotes


@dataclass(frozen=True)
class Verdict:
    fact: Fact
    span: Span
    p_contradicts: float


def relevant_facts(passage: str, facts: StoryFacts, chapter: int | None) -> list[tuple[Fact, Span]]:
    """Facts in force at `chapter` whose subject (any spelling) the passage mentions, with that sentence."""
    found: list[tuple[int, Fact, Span]] = []
    whole = facts.language == "en"
    for fact in facts.as_of(chapter).facts:
        starts = [s for spelling in facts.names_of(fact.subject) for s in occurrences(passage, spelling, not whole, whole)]
        if starts:
            start, end = sentence_bounds(passage, min(starts))
            end = min(end, start + QUOTE_CHARS)
            found.append((min(starts), fact, Span(start, end, passage[start:end])))
    found.sort(key=lambda item: item[0])
    return [(fact, span) for _, fact, span in found[:MAX_FACTS]]


def ask(fact: Fact, quote: str, *, language: str, title: str, score: ScoreFn) -> float:
    """p(the passage contradicts the fact) from the two answers' log-probabilities."""
    answers = constant_list(language, TEMPLATE, "answers")
    prompt = render(language, TEMPLATE, title=title, subject=fact.subject, attribute=fact.attribute,
                    value=fact.value, since_chapter=fact.since_chapter, passage=quote)
    yes, no = score(prompt, [answers["contradicts"], answers["consistent"]])
    top = max(yes, no)
    return math.exp(yes - top) / (math.exp(yes - top) + math.exp(no - top))


def model_verdicts(passage: str, facts: StoryFacts, *, chapter: int | None, title: str,
                   score: ScoreFn) -> list[Verdict]:
    return [Verdict(fact, span, ask(fact, span.quote, language=facts.language, title=title, score=score))
            for fact, span in relevant_facts(passage, facts, chapter)]


def model_findings(verdicts: Sequence[Verdict], threshold: float = DEFAULT_THRESHOLD) -> list[Finding]:
    return [Finding(MODEL_CONTRADICTION, "medium", v.span, v.fact.text(), v.fact.evidence,
                    {"p": round(v.p_contradicts, 4), "subject": v.fact.subject}, layer="model")
            for v in verdicts if v.p_contradicts >= threshold]
