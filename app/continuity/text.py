"""Small text helpers shared by the checks: CJK test, occurrences, sentence bounds, edit distance.

Offsets are always indices into the original passage string (no normalisation that shifts them).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
SENTENCE_END = "。！？!?\n…"
CLAUSE_END = SENTENCE_END + "，,；;：:"
QUOTE_CHARS = "“”\"「」『』"

# Words that start English sentences often and are never names here (lower-case); a capitalised word
# mid-sentence is always a name candidate.
COMMON_EN_WORDS = frozenset("""
a about above after again against all almost along also although always among an and another any
anyone anything around as at away back be because been before behind being below beneath beside
besides between beyond both but by can could did do does down during each either even ever every
everyone everything few for from further had has have he her here hers herself him himself his how
however i if in inside instead into is it its itself just later least less let like many maybe me
meanwhile might mine more most much must my myself near neither never nevertheless next no nobody
none nor not nothing now of off often on once one only onto or other others otherwise our ours out
outside over perhaps quite rather really she should since so some someone something sometimes soon
still such than that the their theirs them then there therefore these they this those though
through thus to today together tomorrow too toward towards under unless until up upon us very was
we were what whatever when whenever where whether which while who whoever whom whose why will with
within without would yes yesterday yet you your yours yourself
""".split())


def occurrences(text: str, needle: str, case_sensitive: bool = True, whole_words: bool = False) -> Iterator[int]:
    """Start offsets of every (non-overlapping) occurrence of `needle` in `text`."""
    if not needle:
        return
    haystack, target = (text, needle) if case_sensitive else (text.lower(), needle.lower())
    start = haystack.find(target)
    while start >= 0:
        end = start + len(target)
        if not whole_words or _word_bounded(text, start, end):
            yield start
        start = haystack.find(target, end)


def _word_bounded(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_")


def is_sentence_start(text: str, offset: int) -> bool:
    """True when only spaces and quotes lie between `offset` and the previous sentence end."""
    i = offset - 1
    while i >= 0 and (text[i].isspace() or text[i] in QUOTE_CHARS or text[i] in "'("):
        i -= 1
    return i < 0 or text[i] in SENTENCE_END or text[i] in ".:;"


def sentence_bounds(text: str, offset: int, ends: str = SENTENCE_END) -> tuple[int, int]:
    """(start, end) of the sentence around `offset` (for English, '.' ends a sentence too)."""
    marks = ends + "."
    start = offset
    while start > 0 and text[start - 1] not in marks:
        start -= 1
    end = offset
    while end < len(text) and text[end] not in marks:
        end += 1
    return start, min(len(text), end + 1)


def edit_distance(a: str, b: str, cutoff: int = 3) -> int:
    """Levenshtein distance, capped at `cutoff` (returns `cutoff` as soon as it is reached)."""
    if abs(len(a) - len(b)) >= cutoff:
        return cutoff
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) >= cutoff:
            return cutoff
        previous = current
    return min(previous[-1], cutoff)
