"""Lore from imports is untrusted: catastrophic regex keys are time-limited and reported on their entry,
over-long ones refused; the budget skips what does not fit and still lets later entries in."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from memory_records import lore

from app.memory import LoreSettings, ScanText, activate_lore
from app.memory.lore import MAX_REGEX_CHARS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCENE = ("a" * 5000 + "!",)  # `(a+)+$` / `(a|aa)+$` backtrack exponentially on this


def _decide(entries, paragraphs=SCENE, settings=LoreSettings()):
    return {d.entry.id: d for d in activate_lore(entries, ScanText(tuple(paragraphs)), settings=settings, seed=0,
                                                 count_tokens=len)}


def _run_isolated(code: str, limit_s: float = 60) -> dict:
    """Run `code` in a fresh interpreter (a hung regex holds the GIL, so no thread could time it out);
    it prints one JSON line. A hang is a failure after `limit_s`, not a frozen test run."""
    script = "import sys, json, time\nsys.path[:0] = [{!r}, {!r}]\n".format(str(ROOT), str(HERE)) + textwrap.dedent(code)
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=limit_s)
    except subprocess.TimeoutExpired:
        pytest.fail(f"lore activation did not finish within {limit_s} s: the regex key hung it")
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("key", ["/(a+)+$/", "/(a|aa)+$/i"])
def test_a_catastrophic_regex_key_is_answered_within_2_s_and_reported(key):
    result = _run_isolated(f"""
        from memory_records import lore
        from app.memory import LoreSettings, ScanText, activate_lore
        entries = [lore(1, [{key!r}], "hostile"), lore(2, ["aaa"], "plain"), lore(3, [], "always", constant=True)]
        started = time.monotonic()
        decisions = activate_lore(entries, ScanText(({SCENE[0]!r},)), settings=LoreSettings(), seed=0,
                                  count_tokens=len)
        print(json.dumps({{"elapsed": time.monotonic() - started,
                          "decisions": {{d.entry.id: [d.active, d.code, d.reason] for d in decisions}}}}))
    """)
    assert result["elapsed"] < 2.0, result
    decisions = result["decisions"]
    assert decisions["1"][:2] == [False, "lore.regex_timeout"] and "too long" in decisions["1"][2]
    assert decisions["2"][0] is True and decisions["3"][0] is True


def test_many_hostile_keys_share_one_time_budget():
    result = _run_isolated(f"""
        from memory_records import lore
        from app.memory import LoreSettings, ScanText, activate_lore
        entries = [lore(i, ["/(a|aa)+$" + "a" * i + "/"], "x") for i in range(1, 41)] + [lore(99, ["aaa"], "ok")]
        started = time.monotonic()
        decisions = activate_lore(entries, ScanText(({SCENE[0]!r},)), settings=LoreSettings(), seed=0,
                                  count_tokens=len)
        print(json.dumps({{"elapsed": time.monotonic() - started,
                          "codes": sorted({{d.code for d in decisions if d.entry.id != 99}}),
                          "plain_active": [d.active for d in decisions if d.entry.id == 99]}}))
    """)
    assert result["elapsed"] < 2.0, result
    assert set(result["codes"]) <= {"lore.regex_timeout", "lore.regex_budget"} and result["plain_active"] == [True]


def test_a_key_that_timed_out_is_skipped_at_once_next_time():
    entries = [lore(1, ["/(a|aa)+$x?/"], "hostile")]
    first = _decide(entries)[1]
    assert first.code == "lore.regex_timeout"
    again = _decide(entries, paragraphs=("b",))[1]  # even on a harmless scene: the key is known to be bad
    assert again.code == "lore.regex_timeout" and not again.active


def test_an_over_long_regex_key_is_refused_with_its_own_code():
    decision = _decide([lore(1, ["/" + "a?" * MAX_REGEX_CHARS + "/"], "long")], paragraphs=("aaa",))[1]
    assert not decision.active and decision.code == "lore.regex_too_long"


def test_good_regex_keys_still_match():
    decisions = _decide([lore(1, ["/dra+gon/i"], "d"), lore(2, [r"/剑(仙|圣)/"], "j")], paragraphs=("DRAAGON 剑圣",))
    assert decisions[1].active and decisions[2].active


def test_a_constant_entry_larger_than_the_budget_does_not_shut_out_later_ones():
    entries = [
        lore(1, [], "C" * 50, constant=True, insertion_order=300),  # larger than the whole budget
        lore(2, [], "c" * 8, constant=True, insertion_order=100),
        lore(3, ["k"], "k" * 10, insertion_order=200),
        lore(4, ["k"], "big" * 10, insertion_order=150),
        lore(5, ["k"], "s" * 2, insertion_order=50),
    ]
    decisions = _decide(entries, paragraphs=("k",), settings=LoreSettings(budget_tokens=25))
    assert {i for i, d in decisions.items() if d.active} == {2, 3, 5}  # 8 + 10 + 2 = 20 <= 25
    for skipped in (1, 4):
        assert decisions[skipped].code == "lore.budget_skipped" and "skipped" in decisions[skipped].reason
    assert "needs 50 tokens" in decisions[1].reason
