"""The streamer pieces: UTF-8-safe incremental detokenization and stop strings across deltas."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine.streaming import BranchText, IncrementalDetokenizer, StopMatcher

CHINESE = "夜色渐深，山门外的石阶上落满了松针。龘靐齉 The lantern swung; 少年提灯而上。"


def test_chinese_byte_fallback_tokens_are_never_split(tiny_parts):
    _, tokenizer = tiny_parts
    ids = tokenizer.encode(CHINESE, add_special_tokens=False)
    pieces = [tokenizer.convert_ids_to_tokens(i) for i in ids]
    assert sum(p.startswith("<0x") for p in pieces) >= 9  # rare characters really go through bytes
    detok = IncrementalDetokenizer(tokenizer)
    emitted = []
    for token_id in ids:
        text = detok.push(token_id)
        assert "\ufffd" not in text
        emitted.append(text)
        assert CHINESE.startswith("".join(emitted))  # every prefix is whole characters
    emitted.append(detok.flush())
    assert "".join(emitted) == CHINESE


def test_incomplete_trailing_bytes_are_flushed_as_replacement(tiny_parts):
    _, tokenizer = tiny_parts
    ids = tokenizer.encode("龘", add_special_tokens=False)
    assert len(ids) == 3
    detok = IncrementalDetokenizer(tokenizer)
    assert detok.push(ids[0]) == "" and detok.push(ids[1]) == ""
    assert "\ufffd" in detok.flush()  # a branch cut mid-character says so honestly


def _feed(matcher: StopMatcher, deltas: list[str]) -> str:
    out = "".join(matcher.feed(d) for d in deltas)
    return out + matcher.flush()


def test_stop_string_spanning_three_deltas_is_cut_and_not_returned():
    matcher = StopMatcher(["END"])
    assert matcher.feed("abc E") == "abc "
    assert matcher.feed("N") == ""
    assert matcher.feed("Dxyz") == ""
    assert matcher.stopped and matcher.flush() == ""


def test_false_start_is_released_once_it_cannot_become_a_stop():
    matcher = StopMatcher(["\n\n", "第二章"])
    assert matcher.feed("他说\n") == "他说"
    assert matcher.feed("好") == "\n好"
    assert matcher.feed("第二") == ""
    assert matcher.feed("天") == "第二天"
    assert not matcher.stopped


def test_earliest_stop_wins():
    assert _feed(StopMatcher(["xyz", "b"]), ["axyzb"]) == "a"


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="ab\n。章", max_size=30), stops=st.lists(st.text(alphabet="ab\n。章", min_size=1, max_size=4),
       min_size=1, max_size=3), cuts=st.lists(st.integers(0, 30), max_size=8))
def test_any_split_gives_the_text_before_the_first_stop(text, stops, cuts):
    bounds = sorted({c for c in cuts if c <= len(text)} | {0, len(text)})
    deltas = [text[a:b] for a, b in zip(bounds, bounds[1:])]
    hits = [i for i in (text.find(s) for s in stops) if i >= 0]
    expected = text[: min(hits)] if hits else text
    assert _feed(StopMatcher(stops), deltas) == expected


def test_branch_text_applies_stops_after_detokenization(tiny_parts):
    _, tokenizer = tiny_parts
    ids = tokenizer.encode(CHINESE, add_special_tokens=False)
    branch = BranchText(tokenizer, ["龘靐"])
    out = "".join(branch.push(i) for i in ids if not branch.stopped)
    assert branch.stopped
    assert out + branch.finish() == CHINESE[: CHINESE.index("龘靐")]
