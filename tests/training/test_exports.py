"""Preferences survive a restart and export to TRL / ms-swift / card JSONL that `datasets` loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.training.exports import LAYOUTS, SftExample, chapter_examples, dpo_rows, export, sft_rows
from story_store import Store
from story_store.errors import ValidationError
from story_store.learning import HASH_PREFIX, prompt_hash


def _project_with_choices(store: Store) -> tuple[int, str]:
    project = store.create_project("书", language="zh")
    prompt = "第一回 开篇\n\n山门初开，"
    digest = store.save_prompt(prompt)
    chosen = store.create_passage(project.id, text="青云门收徒三千。", prompt_hash=digest, branch_index=0)
    other = store.create_passage(project.id, text="风雪满山。", prompt_hash=digest, branch_index=1)
    store.record_preference(project.id, HASH_PREFIX + digest, chosen.id, other.id)  # the prompt only by hash
    store.record_text_preference(project.id, "polish_accept", "他快步走来。", "他走来。", prompt_hash=digest)
    store.record_text_preference(project.id, "polish_reject", "原文。", "改坏的文。", prompt_hash=digest)
    store.record_text_preference(project.id, "edited", "作者改过的。", "模型原文。", prompt_hash=digest,
                                 passage_id=chosen.id)
    return project.id, prompt


def test_prompts_are_stored_once_per_hash(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'a.db'}") as store:
        first = store.save_prompt("同一个提示")
        assert store.save_prompt("同一个提示") == first == prompt_hash("同一个提示")
        store.save_prompt("another prompt")
        assert store.count_prompts() == 2
        assert store.prompt_text(first) == "同一个提示"
        assert store.prompt_text("0" * 64) is None


def test_restart_between_accept_and_export_loses_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inkstone.db'}"
    with Store(url) as store:
        project_id, prompt = _project_with_choices(store)
    with Store(url) as store:  # a restart: a new Store on the same file
        pairs = store.preference_pairs(project_id)
    assert [p.kind for p in pairs] == ["branch", "polish_accept", "polish_reject", "edited"]
    assert all(p.prompt == prompt for p in pairs)
    assert pairs[0].chosen == "青云门收徒三千。" and pairs[0].rejected == "风雪满山。"
    for layout in LAYOUTS:
        result = export(dpo_rows(pairs, layout), tmp_path / f"dpo-{layout}.jsonl")
        assert result.rows == result.loaded_rows == len(pairs) == 4
    rows = [json.loads(line) for line in (tmp_path / "dpo-trl.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows[3] == {"prompt": prompt, "chosen": "作者改过的。", "rejected": "模型原文。"}
    swift = json.loads((tmp_path / "dpo-swift.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert swift["messages"][1] == {"role": "assistant", "content": "青云门收徒三千。"}
    assert swift["rejected_response"] == "风雪满山。"


def test_sft_rows_from_chapters_and_passages_load(tmp_path: Path) -> None:
    examples = chapter_examples([("第一回", "大纲", "正文一。"), ("第二回", "", "正文二。"), ("空", "", "  ")])
    examples.append(SftExample("prompt", "accepted passage"))
    for layout in LAYOUTS:
        result = export(sft_rows(examples, layout), tmp_path / f"sft-{layout}.jsonl")
        assert result.rows == result.loaded_rows == 3
    card = json.loads((tmp_path / "sft-card.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert card == {"input": "第一回\n\n大纲", "output": "正文一。"}


def test_bad_preferences_are_refused_and_change_nothing(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'a.db'}") as store:
        project_id, _ = _project_with_choices(store)
        before = len(store.preference_pairs(project_id))
        with pytest.raises(ValidationError):
            store.record_text_preference(project_id, "liked", "a", "b")
        with pytest.raises(ValidationError):
            store.record_text_preference(project_id, "edited", "same", "same")
        assert len(store.preference_pairs(project_id)) == before


def test_unknown_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="layout"):
        sft_rows([SftExample("a", "b")], "alpaca")
