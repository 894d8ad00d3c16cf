"""TokenCache: counts are memoized by text, except while the counter is provisional (a model loading
in the background counts by estimate; those must not outlive the load)."""

from __future__ import annotations

from app.memory.plan import TokenCache


def test_memoizes_only_final_counts():
    calls: list[str] = []
    provisional = [True]

    def count(text: str) -> int:
        calls.append(text)
        return len(text) * (2 if provisional[0] else 1)

    cache = TokenCache(count, provisional=lambda: provisional[0])
    assert cache("灯塔") == 4 and cache("灯塔") == 4
    assert calls == ["灯塔", "灯塔"]  # an estimate is asked again each time
    provisional[0] = False
    assert cache("灯塔") == 2 and cache("灯塔") == 2
    assert calls == ["灯塔", "灯塔", "灯塔"]  # the final count is kept


def test_evicts_the_oldest_entry_at_the_bound():
    cache = TokenCache(len, max_entries=2)
    for text in ("a", "bb", "ccc"):
        cache(text)
    assert list(cache._cache) == ["bb", "ccc"]
