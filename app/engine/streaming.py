"""Per-branch text streaming: UTF-8-safe incremental detokenization and stop strings across tokens.

Invariants:
- `IncrementalDetokenizer` never emits text that ends in the middle of a character: byte-fallback
  tokens (CJK characters split into `<0xE4>` `<0xB8>` `<0xAD>`) are held until the character is
  complete. The concatenation of everything it emits (including `flush()`) equals
  `tokenizer.decode(all ids)` for tokenizers whose decoding is concatenative.
- `StopMatcher` never emits a stop string or any text after it; it holds back the longest suffix
  of the pending text that could still grow into a stop string, so stops that span token
  boundaries are caught.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

REPLACEMENT_CHAR = "\ufffd"


class IncrementalDetokenizer:
    """Turns a growing list of token ids into text deltas, one token at a time."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self.ids: list[int] = []
        # Text of ids[_prefix_offset:_read_offset] has already been emitted; decoding from
        # _prefix_offset (not from 0) keeps each step O(window) while giving the decoder context.
        self._prefix_offset = 0
        self._read_offset = 0

    def _decode(self, ids: Sequence[int]) -> str:
        return self._tokenizer.decode(list(ids), skip_special_tokens=True, clean_up_tokenization_spaces=False)

    def push(self, token_id: int) -> str:
        """Add one token; return the newly completed text ("" while a character is incomplete)."""
        self.ids.append(token_id)
        prefix_text = self._decode(self.ids[self._prefix_offset : self._read_offset])
        new_text = self._decode(self.ids[self._prefix_offset :])
        if len(new_text) <= len(prefix_text) or new_text.endswith(REPLACEMENT_CHAR):
            return ""
        self._prefix_offset, self._read_offset = self._read_offset, len(self.ids)
        return new_text[len(prefix_text) :]

    def flush(self) -> str:
        """Everything not yet emitted (broken trailing bytes come out as U+FFFD, honestly)."""
        prefix_text = self._decode(self.ids[self._prefix_offset : self._read_offset])
        new_text = self._decode(self.ids[self._prefix_offset :])
        self._prefix_offset = self._read_offset = len(self.ids)
        return new_text[len(prefix_text) :] if len(new_text) > len(prefix_text) else ""


class StopMatcher:
    """Finds stop strings in streamed text, even when they span several deltas."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(stops)
        self._pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Add a delta; return the text that is safe to emit now (never part of a stop string)."""
        if self.stopped:
            return ""
        self._pending += text
        if not self._stops:
            out, self._pending = self._pending, ""
            return out
        hits = [i for i in (self._pending.find(s) for s in self._stops) if i >= 0]
        if hits:
            self.stopped = True
            out, self._pending = self._pending[: min(hits)], ""
            return out
        hold = self._longest_partial_stop_suffix()
        cut = len(self._pending) - hold
        out, self._pending = self._pending[:cut], self._pending[cut:]
        return out

    def _longest_partial_stop_suffix(self) -> int:
        """Length of the longest suffix of the pending text that is a proper prefix of a stop string."""
        best = 0
        for stop in self._stops:
            for length in range(min(len(stop) - 1, len(self._pending)), best, -1):
                if self._pending.endswith(stop[:length]):
                    best = length
                    break
        return best

    def flush(self) -> str:
        """At the end of a branch that did not stop: the held-back text is real output."""
        if self.stopped:
            return ""
        out, self._pending = self._pending, ""
        return out


class BranchText:
    """One branch's token → text pipeline: detokenize, then cut at stop strings."""

    def __init__(self, tokenizer: Any, stops: Sequence[str]) -> None:
        self._detok = IncrementalDetokenizer(tokenizer)
        self._stop = StopMatcher(stops)

    @property
    def ids(self) -> list[int]:
        return self._detok.ids

    @property
    def stopped(self) -> bool:
        return self._stop.stopped

    def push(self, token_id: int) -> str:
        return self._stop.feed(self._detok.push(token_id))

    def finish(self) -> str:
        """Text still held back when the branch ends without a stop string (eos, length, cancel)."""
        tail = self._stop.feed(self._detok.flush())
        return tail + self._stop.flush()
