"""Each deterministic check: a planted contradiction is found with the right quote and evidence; the
clean control yields nothing (Chinese and English)."""

from __future__ import annotations

import pytest

from app.continuity import check_passage

# (kind, passage with the contradiction, expected quote, its clean twin)
ZH_CASES = [
    ("name_near_miss", "夜深了，林薇推开窗，望向远山。", "林薇", "夜深了，林峰推开窗，望向远山。"),
    ("glossary_variant", "飞船的曲速引擎发出低鸣。", "曲速引擎", "飞船的曲率引擎发出低鸣。"),
    ("dead_character_acts", "门开了，林微说道：“我回来了。”", "林微说", "门开了，苏婉说道：“我回来了。”"),
    ("rank_regression", "众人都知道，萧长风不过是筑基修士。", "萧长风不过是筑基", "众人都知道，萧长风已是金丹修士。"),
    ("owner_mismatch", "苏婉拔出青冥剑，剑光如水。", "苏婉拔出青冥剑", "苏婉拔出长剑，剑光如水。"),
]
EN_CASES = [
    ("name_near_miss", "At dusk Marra opened the shutters.", "Marra", "At dusk Penny opened the shutters."),
    ("glossary_variant", "The ship's warp drive hummed.", "warp drive", "The ship's warp engine hummed."),
    ("dead_character_acts", "The door opened and Mara said, \"I'm back.\"", "Mara said",
     "The door opened and Selene said, \"I'm back.\""),
    ("rank_regression", "Everyone knew Tobin was only a Novice.", "Tobin was only a Novice",
     "Everyone knew Tobin was already a Master."),
    ("owner_mismatch", "Selene drew the Moonblade and waited.", "Selene drew the Moonblade",
     "Selene drew a dagger and waited."),
]
EVIDENCE = {"name_near_miss": "character", "glossary_variant": "lore", "dead_character_acts": "fact",
            "rank_regression": "fact", "owner_mismatch": "fact"}


def _check(book, passage: str, chapter: int = 30):
    facts, _characters, _entry = book
    return check_passage(passage, facts, chapter)


@pytest.mark.parametrize("kind,planted,quote,clean", ZH_CASES, ids=[c[0] for c in ZH_CASES])
def test_zh_planted_found_and_clean_twin_silent(zh_book, kind, planted, quote, clean):
    _assert_case(zh_book, kind, planted, quote, clean)


@pytest.mark.parametrize("kind,planted,quote,clean", EN_CASES, ids=[c[0] for c in EN_CASES])
def test_en_planted_found_and_clean_twin_silent(en_book, kind, planted, quote, clean):
    _assert_case(en_book, kind, planted, quote, clean)


def _assert_case(book, kind, planted, quote, clean):
    facts, characters, entry = book
    findings = _check(book, planted)
    assert [f.kind for f in findings] == [kind]
    finding = findings[0]
    assert finding.span.quote == quote == planted[finding.span.start:finding.span.end]
    assert finding.evidence.source == EVIDENCE[kind]
    if kind == "name_near_miss":
        assert finding.evidence.source_id == characters[0].id and finding.fact == characters[0].name
    elif kind == "glossary_variant":
        assert finding.evidence.source_id == entry.id
    else:
        assert finding.evidence.chapter in (5, 12, 20) and finding.values["since"] == finding.evidence.chapter
    assert finding.severity in ("low", "medium", "high")
    assert _check(book, clean) == []


def test_facts_hold_only_after_the_chapter_they_were_established(zh_book, en_book):
    assert _check(zh_book, "门开了，林微说道：“我回来了。”", chapter=11) == []
    assert _check(en_book, "Everyone knew Tobin was only a Novice.", chapter=19) == []
    assert _check(zh_book, "门开了，林微说道：“我回来了。”", chapter=13)


def test_memories_and_other_peoples_acts_are_not_a_dead_character_acting(zh_book, en_book):
    assert _check(zh_book, "他想起林微说过的话。") == []
    assert _check(zh_book, "林微的师父说道：“走吧。”") == []
    assert _check(en_book, "Selene remembered how Mara said goodbye.") == []


def test_new_names_and_words_that_cut_through_a_word_are_not_near_misses(zh_book, en_book):
    assert _check(zh_book, "黎明时分，树林为首的那棵老松倒了，林峰和萧长风赶来。") == []
    assert _check(en_book, "Then Tobias smiled. Mara's sister, Marion, nodded.") == []


def test_aliases_count_as_known_and_near_misses_of_aliases_are_flagged(zh_book):
    assert _check(zh_book, "阿微回来了。长风点头。", chapter=3) == []
    findings = _check(zh_book, "阿薇回来了。", chapter=3)
    assert [(f.span.quote, f.values["expected"], f.evidence.source) for f in findings] == [("阿薇", "阿微", "alias")]


def test_offsets_index_the_passage_with_text_around(zh_book):
    passage = "第一段。\n\n" * 50 + "夜深了，林薇推开窗。"
    (finding,) = _check(zh_book, passage)
    assert passage[finding.span.start:finding.span.end] == "林薇" and finding.span.start == passage.index("林薇")
