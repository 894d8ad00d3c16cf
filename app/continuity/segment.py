"""Chinese word boundaries (jieba), so a name-length window that cuts through a word is not a name.

Optional: without jieba installed `word_boundaries` returns an empty set and callers skip the guard.
"""

from __future__ import annotations

import logging
import threading

_lock = threading.Lock()
_ready = False


def word_boundaries(text: str) -> frozenset[int]:
    """Offsets that are not strictly inside a segmented word (0 and len(text) included)."""
    try:
        import jieba
    except ImportError:  # pragma: no cover - exercised only where jieba is missing
        return frozenset()
    global _ready
    with _lock:
        if not _ready:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _ready = True
    bounds = {0, len(text)}
    for _word, start, end in jieba.tokenize(text, HMM=True):
        bounds.update((start, end))
    return frozenset(bounds)
