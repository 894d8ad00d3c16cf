"""Lore activation with SillyTavern World Info semantics (DESIGN §5).

Owns: which lore entries a scene activates and why. Pure: receives records and a token counter.
Semantics:
- keys are plain text (case-insensitive unless `case_sensitive`; `match_whole_words` uses ASCII word
  boundaries like SillyTavern's JavaScript `\\W`, so CJK keys still match inside CJK text) or
  `/pattern/flags` regexes (flags i, m, s honoured; g, u, y, d, v ignored);
- regex keys come from imports, so they run fenced: a pattern of at most MAX_REGEX_CHARS, each search
  at most REGEX_TIMEOUT_S, all of one activation's regex searches at most REGEX_TOTAL_S (the `regex`
  module's timeout). A key that times out is skipped and reported on its entry (code
  "lore.regex_timeout") and stays skipped in this process (catastrophic patterns such as `(a+)+$`
  do not get faster), so no scene can stall a request;
- secondary keys, when present, refine a primary match: and_any (any must match), and_all (all),
  not_any (none may match), not_all (not all may match);
- `constant` entries activate without keys; disabled entries never activate;
- `probability` (percent) is rolled after a match with an RNG seeded by (seed, entry id), so the
  same seed always activates the same entries, whatever order entries come in;
- each entry scans the last `scan_depth` paragraphs (its own, else the project's) plus the task's
  own texts (outline, passage, ...);
- recursion: the content of activated entries (unless `prevent_recursion`) is scanned again, up to
  `recursion_depth` steps; `exclude_recursion` entries are only activated by the story text;
- budget: constant entries first, then higher `insertion_order` first (ties by id); each entry that
  fits in what is left is kept, one that does not fit is skipped (code "lore.budget_skipped", with its
  size and what was left) and later, smaller entries still get their chance; `ignore_budget` entries
  are kept anyway.
"""

from __future__ import annotations

import random
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import regex

from messages import CodedError, Message
from story_store.records import LoreEntryRecord

SELECTIVE_LOGICS = ("and_any", "and_all", "not_any", "not_all")
REGEX_KEY = re.compile(r"^/(.+)/([a-z]*)$", re.DOTALL)
JS_FLAGS = {"i": regex.IGNORECASE, "m": regex.MULTILINE, "s": regex.DOTALL}
MAX_REGEX_CHARS = 1000
REGEX_TIMEOUT_S = 0.1  # per search (the regex module overshoots by ~0.1–0.2 s on a loaded box)
REGEX_TOTAL_S = 1.0  # all regex searches of one activation
_TIMED_OUT: OrderedDict[str, None] = OrderedDict()  # regex keys that timed out in this process (bounded)
_TIMED_OUT_MAX = 1024
ASCII_WORD = "A-Za-z0-9_"


@dataclass(frozen=True)
class LoreSettings:
    """Project-level World Info settings (project.settings keys `lore_*`)."""

    scan_depth: int = 4
    budget_tokens: int | None = None  # None: only the prompt's own caps apply
    recursion_depth: int = 2

    @classmethod
    def from_project(cls, settings: Mapping[str, Any]) -> LoreSettings:
        values = {
            "scan_depth": settings.get("lore_scan_depth", cls.scan_depth),
            "budget_tokens": settings.get("lore_budget_tokens", cls.budget_tokens),
            "recursion_depth": settings.get("lore_recursion_depth", cls.recursion_depth),
        }
        for name, value in values.items():
            if value is None and name == "budget_tokens":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise LoreSettingError("memory.bad_lore_setting", name=name, value=repr(value)[:60])
        return cls(**values)


@dataclass(frozen=True)
class ScanText:
    """What lore and characters are matched against: story paragraphs (oldest first) + task texts."""

    paragraphs: tuple[str, ...]
    task_texts: tuple[str, ...] = ()
    _windows: dict[int, str] = field(default_factory=dict, compare=False, repr=False)

    def window(self, depth: int) -> str:
        """The last `depth` paragraphs plus the task texts, joined by newlines."""
        if depth not in self._windows:
            recent = self.paragraphs[-depth:] if depth > 0 else ()
            self._windows[depth] = "\n".join((*recent, *self.task_texts))
        return self._windows[depth]


@dataclass(frozen=True)
class LoreDecision:
    entry: LoreEntryRecord
    active: bool
    reason: str | Message
    step: int = 0  # 0: matched the story text; n: matched through recursion step n
    tokens: int = 0
    code: str = ""  # why, for translation: "lore.regex_timeout", "lore.budget_skipped", ... ("" = see reason)


class LoreSettingError(CodedError, ValueError):
    """A project's lore_* setting is not a whole number >= 0 (`memory.bad_lore_setting`)."""


class LoreKeyError(CodedError, ValueError):
    """A `/regex/` key cannot be used: `code` is lore.bad_regex | lore.regex_too_long |
    lore.regex_timeout | lore.regex_budget (a catalogue message with its values)."""


@lru_cache(maxsize=4096)
def compile_key(key: str, case_sensitive: bool, whole_words: bool) -> Any:
    """The pattern one key stands for (see the module docstring for the rules): a `re` pattern for a
    plain key (linear: the key is escaped), a `regex` pattern for a `/…/` key (searched time-limited)."""
    written = REGEX_KEY.match(key)
    if written:
        if len(written.group(1)) > MAX_REGEX_CHARS:
            raise LoreKeyError("lore.regex_too_long", key=key[:40], length=len(written.group(1)), limit=MAX_REGEX_CHARS)
        flags = regex.V0
        for letter in written.group(2):
            flags |= JS_FLAGS.get(letter, 0)
        try:
            return regex.compile(written.group(1), flags)
        except (regex.error, ValueError, OverflowError, RecursionError) as exc:
            raise LoreKeyError("lore.bad_regex", key=key, detail=str(exc)) from None
    body = re.escape(key.strip())
    if whole_words and not re.search(r"\s", key.strip()):
        body = rf"(?<![{ASCII_WORD}]){body}(?![{ASCII_WORD}])"
    return re.compile(body, 0 if case_sensitive else re.IGNORECASE)


class KeySearch:
    """Key searches of one activation; regex keys share one time budget (see the module docstring)."""

    def __init__(self, timeout_s: float = REGEX_TIMEOUT_S, total_s: float = REGEX_TOTAL_S):
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + total_s

    def found(self, key: str, entry: LoreEntryRecord, text: str) -> bool:
        pattern = compile_key(key, entry.case_sensitive, entry.match_whole_words)
        if isinstance(pattern, re.Pattern):
            return pattern.search(text) is not None
        if key in _TIMED_OUT:
            raise _timed_out(key)
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise LoreKeyError("lore.regex_budget", key=key)
        try:
            return pattern.search(text, timeout=min(self.timeout_s, left)) is not None
        except TimeoutError:
            _TIMED_OUT[key] = None
            while len(_TIMED_OUT) > _TIMED_OUT_MAX:
                _TIMED_OUT.popitem(last=False)
            raise _timed_out(key) from None


def _timed_out(key: str) -> LoreKeyError:
    return LoreKeyError("lore.regex_timeout", key=key, limit_s=REGEX_TIMEOUT_S)


def first_matching_key(keys: Sequence[str], text: str, entry: LoreEntryRecord,
                       search: KeySearch | None = None) -> str | None:
    search = search or KeySearch()
    for key in keys:
        if key.strip() and search.found(key, entry, text):
            return key
    return None


def secondary_satisfied(entry: LoreEntryRecord, text: str, search: KeySearch | None = None) -> bool:
    keys = [k for k in entry.secondary_keys if k.strip()]
    if not keys:
        return True
    search = search or KeySearch()
    hits = [search.found(k, entry, text) for k in keys]
    logic = entry.selective_logic
    if logic == "and_any":
        return any(hits)
    if logic == "and_all":
        return all(hits)
    if logic == "not_any":
        return not any(hits)
    if logic == "not_all":
        return not all(hits)
    raise LoreKeyError("lore.unknown_logic", logic=logic, expected=", ".join(SELECTIVE_LOGICS))


def probability_passes(entry: LoreEntryRecord, seed: int) -> bool:
    if entry.probability >= 100:
        return True
    roll = random.Random(f"{seed}:{entry.id}").randrange(100)  # 0..99, stable for (seed, entry)
    return roll < entry.probability


def _match(entry: LoreEntryRecord, text: str, search: KeySearch) -> tuple[bool, str, str]:
    """(matched, reason, code) for one entry against one scan text; never raises."""
    try:
        key = first_matching_key(entry.keys, text, entry, search)
        if key is None:
            return False, Message("lore.no_key"), ""
        if not secondary_satisfied(entry, text, search):
            return False, Message("lore.secondary_unmet", key=key, logic=Message(f"enum.logic.{entry.selective_logic}")), ""
    except LoreKeyError as exc:
        return False, exc.message, exc.code
    return True, Message("lore.key_found", key=key), ""


def _first_pass(entry: LoreEntryRecord, scan: ScanText, settings: LoreSettings,
                search: KeySearch) -> tuple[bool, str, str]:
    if not entry.enabled:
        return False, Message("lore.disabled"), ""
    if entry.constant:
        return True, Message("lore.constant"), ""
    depth = entry.scan_depth if entry.scan_depth is not None else settings.scan_depth
    return _match(entry, scan.window(depth), search)


def activate_lore(
    entries: Sequence[LoreEntryRecord],
    scan: ScanText,
    *,
    settings: LoreSettings,
    seed: int,
    count_tokens: Callable[[str], int],
) -> list[LoreDecision]:
    """One decision per live entry, active ones first in budget-priority order."""
    live = [e for e in entries if e.deleted_at is None]
    decided: dict[int, LoreDecision] = {}  # entries that matched (active or lost their roll)
    unmatched: dict[int, LoreDecision] = {}  # entries recursion may still activate
    pending: list[tuple[LoreEntryRecord, str]] = []
    search = KeySearch()
    for entry in live:
        matched, reason, code = _first_pass(entry, scan, settings, search)
        if matched:
            pending.append((entry, reason))
        else:
            unmatched[entry.id] = LoreDecision(entry, False, reason, code=code)
    step = 0
    while pending:
        newly = _roll(pending, decided, seed, step)
        step += 1
        if step > settings.recursion_depth:
            break
        pending = _recurse(live, newly, unmatched, scan, settings, step, search)
    decisions = [decided.get(e.id) or unmatched[e.id] for e in live]
    return _apply_budget(decisions, settings, count_tokens)


def _roll(pending, decided, seed: int, step: int) -> list[LoreEntryRecord]:
    newly = []
    for entry, reason in pending:
        if probability_passes(entry, seed):
            decided[entry.id] = LoreDecision(entry, True, reason, step)
            newly.append(entry)
        else:
            decided[entry.id] = LoreDecision(entry, False, Message("lore.lost_roll", reason=reason, probability=entry.probability), step)
    return newly


def _recurse(live, newly, unmatched, scan: ScanText, settings: LoreSettings, step: int, search: KeySearch):
    """Unmatched entries that the content of the newly activated entries triggers (removed from
    `unmatched`); `exclude_recursion` entries are never activated by lore content."""
    sources = [e for e in newly if not e.prevent_recursion and e.content]
    if not sources:
        return []
    lore_text = "\n".join(e.content for e in sources)
    names = ", ".join(repr(e.title or f"#{e.id}") for e in sources[:3])  # titles are data
    pending = []
    for entry in live:
        if entry.id not in unmatched or entry.exclude_recursion or not entry.enabled or unmatched[entry.id].code:
            continue  # an entry whose key could not be searched is not tried again
        depth = entry.scan_depth if entry.scan_depth is not None else settings.scan_depth
        matched, reason, _ = _match(entry, scan.window(depth) + "\n" + lore_text, search)
        if matched:
            del unmatched[entry.id]
            pending.append((entry, Message("lore.recursion", reason=reason, step=step, via=names)))
    return pending


def budget_order(decision: LoreDecision) -> tuple:
    """Constant first, then higher insertion_order first, ties by id."""
    entry = decision.entry
    return (not entry.constant, -entry.insertion_order, entry.id)


def _apply_budget(decisions, settings: LoreSettings, count_tokens) -> list[LoreDecision]:
    """Keep active entries in budget order while they fit; an entry that does not fit is skipped and
    the next ones still get their chance; `ignore_budget` entries are kept anyway. Once nothing is
    left, entries are skipped without being counted (only empty ones could still fit)."""
    active = sorted((d for d in decisions if d.active), key=budget_order)
    inactive = [d for d in decisions if not d.active]
    budget = settings.budget_tokens
    kept, used = [], 0
    for d in active:
        if d.entry.ignore_budget:
            tokens = count_tokens(d.entry.content)
            kept.append(LoreDecision(d.entry, True, Message("lore.ignores_budget", reason=d.reason), d.step, tokens,
                                     "lore.ignores_budget"))
            continue
        left = None if budget is None else budget - used
        tokens = count_tokens(d.entry.content) if left is None or left > 0 or not d.entry.content else None
        if tokens is not None and (left is None or tokens <= left):
            used += tokens
            kept.append(LoreDecision(d.entry, True, d.reason, d.step, tokens))
            continue
        if tokens is None:
            reason = Message("lore.budget_exhausted", reason=d.reason, budget=budget)
        else:
            reason = Message("lore.budget_skipped", reason=d.reason, tokens=tokens, left=left, budget=budget)
        kept.append(LoreDecision(d.entry, False, reason, d.step, tokens or 0, "lore.budget_skipped"))
    return kept + inactive
