"""Reviewable changes: readable units (Chinese phrases, English words) and exact per-change application."""

from __future__ import annotations

import random

import pytest

from app.studio.changes import apply_changes, change_numbers, review_changes
from app.studio.counting import count_text


def _changes(original: str, revised: str) -> list[tuple[str, str]]:
    return [(p.before, p.after) for p in review_changes(original, revised) if p.is_change]


def test_chinese_changes_are_phrases_not_single_characters():
    original = "他慢慢地走进了房间，看见桌上放着一盏灯。"
    revised = "他缓步踏进房间，只见桌上摆着一盏灯。"
    assert _changes(original, revised) == [("慢慢地走进了", "缓步踏进"), ("看见", "只见"), ("放着", "摆着")]


def test_english_changes_are_whole_words_and_nearby_edits_read_as_one():
    original = "The quick brown fox jumps over the lazy dog."
    revised = "The slow brown dog leaps over the lazy dog!"
    assert _changes(original, revised) == [("quick brown fox jumps", "slow brown dog leaps"), (".", "!")]
    assert _changes("She walked home.", "She wandered home.") == [("walked", "wandered")]


def test_sentence_ends_keep_changes_apart():
    original = "天很冷。风很大。"
    revised = "天很热。风很小。"
    assert _changes(original, revised) == [("很冷", "很热"), ("很大", "很小")]


def test_each_change_can_be_taken_or_left():
    original = "他慢慢地走进了房间，看见桌上放着一盏灯。"
    revised = "他缓步踏进房间，只见桌上摆着一盏灯。"
    pieces = review_changes(original, revised)
    assert change_numbers(pieces) == [1, 2, 3]
    assert apply_changes(pieces, [1, 3]) == "他缓步踏进房间，看见桌上摆着一盏灯。"
    assert apply_changes(pieces, [2]) == "他慢慢地走进了房间，只见桌上放着一盏灯。"
    starts = [p.start for p in pieces]
    assert all(original[p.start:p.start + len(p.before)] == p.before for p in pieces) and starts == sorted(starts)


@pytest.mark.parametrize("seed", range(40))
def test_all_or_nothing_give_back_the_two_texts(seed: int):
    rng = random.Random(seed)
    alphabet = list("天地玄黄宇宙洪荒的了，。！ \nabc xyz Mara's lamp.")
    original = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
    revised = list(original)
    for _ in range(rng.randint(0, 8)):
        at = rng.randint(0, len(revised))
        revised[at:at + rng.randint(0, 3)] = rng.choice(alphabet) * rng.randint(0, 2)
    revised_text = "".join(revised)
    pieces = review_changes(original, revised_text)
    assert apply_changes(pieces, change_numbers(pieces)) == revised_text
    assert apply_changes(pieces, ()) == original
    for left, right in zip(pieces, pieces[1:]):
        assert left.is_change or right.is_change  # kept text never touches kept text
        assert not (left.is_change and right.is_change)
    assert change_numbers(pieces) == list(range(1, len(change_numbers(pieces)) + 1))


def test_counting_like_writers_do():
    assert count_text("他说：OK。").total == 5  # 他 说 ： 。 and one word
    assert count_text("Mara's lamp-light burned.").total == 3
    assert count_text("  \n ").total == 0
    assert count_text("第3章 风起").cjk == 4
