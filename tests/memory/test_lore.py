"""World Info semantics, table-driven: keys, secondary logic, constant, scan depth, probability,
recursion, budget ordering."""

from __future__ import annotations

import pytest
from memory_records import lore

from app.memory import LoreSettings, ScanText, activate_lore
from app.memory.lore import LoreSettingError


def active_ids(entries, paragraphs, *, seed=0, settings=LoreSettings(), tasks=()):
    scan = ScanText(tuple(paragraphs), tuple(tasks))
    decisions = activate_lore(entries, scan, settings=settings, seed=seed, count_tokens=len)
    return {d.entry.id for d in decisions if d.active}, {d.entry.id: d for d in decisions}


KEY_CASES = [
    ("plain key, any case", dict(keys=["Dragon"]), "the DRAGON sleeps", True),
    ("plain key absent", dict(keys=["dragon"]), "the wyvern sleeps", False),
    ("case sensitive refuses other case", dict(keys=["Dragon"], case_sensitive=True), "the dragon", False),
    ("case sensitive accepts same case", dict(keys=["Dragon"], case_sensitive=True), "the Dragon", True),
    ("whole words refuses a word part", dict(keys=["cat"], match_whole_words=True), "concatenate", False),
    ("whole words accepts the word", dict(keys=["cat"], match_whole_words=True), "a cat.", True),
    ("whole words inside CJK text", dict(keys=["巨龙"], match_whole_words=True), "一条巨龙飞过", True),
    ("plain CJK key", dict(keys=["蜀山"]), "他们上了蜀山。", True),
    ("regex key with flag i", dict(keys=["/dra+gon/i"]), "DRAAAGON!", True),
    ("regex key without i is case sensitive", dict(keys=["/dra+gon/"]), "DRAAAGON!", False),
    ("regex alternation", dict(keys=[r"/剑(仙|圣)/"]), "剑圣出手", True),
    ("invalid regex never matches", dict(keys=["/([/"]), "([", False),
    ("empty key ignored", dict(keys=["  "]), "anything", False),
    ("second key matches", dict(keys=["nope", "yes"]), "yes indeed", True),
]


@pytest.mark.parametrize("label,entry,text,expected", KEY_CASES, ids=[c[0] for c in KEY_CASES])
def test_key_matching(label, entry, text, expected):
    ids, _ = active_ids([lore(1, **entry)], [text])
    assert (1 in ids) is expected


def test_invalid_regex_reason_names_the_key():
    _, decisions = active_ids([lore(1, ["/([/"])], ["text"])
    assert "not a valid regular expression" in decisions[1].reason


LOGIC_CASES = [  # primary key "king" always present; secondary keys "crown", "sword"
    ("and_any", "king crown", True), ("and_any", "king", False),
    ("and_all", "king crown sword", True), ("and_all", "king crown", False),
    ("not_any", "king", True), ("not_any", "king sword", False),
    ("not_all", "king crown", True), ("not_all", "king crown sword", False),
]


@pytest.mark.parametrize("logic,text,expected", LOGIC_CASES)
def test_secondary_key_logic(logic, text, expected):
    entry = lore(1, ["king"], secondary_keys=["crown", "sword"], selective_logic=logic)
    ids, _ = active_ids([entry], [text])
    assert (1 in ids) is expected


def test_constant_disabled_and_deleted():
    entries = [lore(1, [], constant=True), lore(2, ["x"], constant=True, enabled=False),
               lore(3, ["x"], enabled=False), lore(4, ["x"], deleted_at=lore(9, []).created_at)]
    ids, decisions = active_ids(entries, ["x"])
    assert ids == {1}
    assert decisions[2].reason == "disabled" and 4 not in decisions


def test_scan_depth_project_default_and_per_entry():
    story = ["龙出现了", "二", "三", "四", "五"]  # the key is 5 paragraphs back
    default_entry, deep_entry = lore(1, ["龙"]), lore(2, ["龙"], scan_depth=5)
    ids, _ = active_ids([default_entry, deep_entry], story, settings=LoreSettings(scan_depth=4))
    assert ids == {2}
    ids, _ = active_ids([default_entry], story, settings=LoreSettings(scan_depth=0))
    assert ids == set()


def test_task_texts_are_always_scanned():
    ids, _ = active_ids([lore(1, ["龙"])], [], settings=LoreSettings(scan_depth=0), tasks=("大纲：屠龙",))
    assert ids == {1}


def test_probability_is_seeded_and_roughly_proportional():
    entry = lore(7, ["x"], probability=50)
    outcomes = [7 in active_ids([entry], ["x"], seed=seed)[0] for seed in range(200)]
    again = [7 in active_ids([entry], ["x"], seed=seed)[0] for seed in range(200)]
    assert outcomes == again  # same seed, same activation
    assert 60 <= sum(outcomes) <= 140
    assert not any(7 in active_ids([lore(7, ["x"], probability=0)], ["x"], seed=s)[0] for s in range(20))


def chain(**overrides):
    """A is triggered by the story; A's content names B; B's content names C."""
    a = lore(1, ["alpha"], "mentions beta", **overrides.get("a", {}))
    b = lore(2, ["beta"], "mentions gamma", **overrides.get("b", {}))
    c = lore(3, ["gamma"], "the end", **overrides.get("c", {}))
    return [a, b, c]


@pytest.mark.parametrize("depth,expected", [(0, {1}), (1, {1, 2}), (2, {1, 2, 3}), (5, {1, 2, 3})])
def test_recursion_depth_limit(depth, expected):
    ids, decisions = active_ids(chain(), ["alpha"], settings=LoreSettings(recursion_depth=depth))
    assert ids == expected
    if 3 in ids:
        assert decisions[3].step == 2 and "recursion step 2" in decisions[3].reason


def test_exclude_and_prevent_recursion():
    ids, _ = active_ids(chain(b={"exclude_recursion": True}), ["alpha"])
    assert ids == {1}
    ids, _ = active_ids(chain(a={"prevent_recursion": True}), ["alpha"])
    assert ids == {1}
    ids, _ = active_ids(chain(b={"exclude_recursion": True}), ["alpha beta"])  # the story itself names B
    assert ids == {1, 2, 3}


def test_budget_keeps_constant_then_higher_order_and_ignore_budget():
    entries = [
        lore(1, ["k"], "a" * 10, insertion_order=10),
        lore(2, ["k"], "b" * 10, insertion_order=300),
        lore(3, [], "c" * 10, constant=True, insertion_order=1),
        lore(4, ["k"], "d" * 10, insertion_order=50, ignore_budget=True),
        lore(5, ["k"], "e" * 10, insertion_order=200),
    ]
    ids, decisions = active_ids(entries, ["k"], settings=LoreSettings(budget_tokens=25))
    assert ids == {3, 2, 4}  # constant (10) + order 300 (10) fit 25; order 200 does not; 4 ignores it
    assert "budget" in decisions[5].reason and "budget" in decisions[1].reason
    assert "ignores the lore budget" in decisions[4].reason


def test_settings_from_project_validate():
    assert LoreSettings.from_project({"lore_scan_depth": 2}).scan_depth == 2
    with pytest.raises(LoreSettingError, match="lore_scan_depth") as refused:  # a ValueError
        LoreSettings.from_project({"lore_scan_depth": "deep"})
    assert "作品设置 lore_scan_depth 必须是不小于 0 的整数" in refused.value.render("zh")
