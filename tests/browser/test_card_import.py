"""Character cards and lorebooks imported through a zh-CN page: a broken file is refused with its name
and a Chinese reason and stores nothing; a good one says what it imported and lands in the book."""

from __future__ import annotations

import json

import pytest

from browser_steps import choose, open_tab, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BROKEN_CARD = json.dumps({"spec": "chara_card_v2", "data": {"name": 5}})
LOREBOOK = json.dumps({"entries": {"0": {"key": ["大观园"], "content": "贾府的园子。", "comment": "大观园"},
                                   "1": {"key": ["潇湘馆"], "content": "黛玉的住处。", "comment": "潇湘馆"}}},
                      ensure_ascii=False)


def test_imports_are_refused_or_confirmed_in_chinese(browser, running, tmp_path, shoot):
    studio = running.studio
    project = studio.library.create_project("导入之书", language="zh")
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        page.goto(running.url + "?lang=zh", timeout=120_000)  # a loaded 2-core box can take >30 s
        page.wait_for_selector("#app-title", timeout=60_000)
        choose(page, "project-picker", "导入之书")
        page.wait_for_function("t => document.querySelector('#project-picker input').value.startsWith(t)",
                               arg="导入之书")
        open_tab(page, "人物")
        card = tmp_path / "坏角色.json"
        card.write_text(BROKEN_CARD, encoding="utf-8")
        page.locator("#card-import input[type=file]").set_input_files(str(card))
        refused = page.get_by_test_id("toast-body").filter(has_text="坏角色.json")
        refused.wait_for(timeout=60_000)
        assert "“name”应为文本，实际是数字" in refused.inner_text()
        shoot(page, "card-import-refused")
        assert studio.library.list_characters(project.id) == []

        open_tab(page, "设定")
        book = tmp_path / "红楼设定.json"
        book.write_text(LOREBOOK, encoding="utf-8")
        page.locator("#lorebook-import input[type=file]").set_input_files(str(book))
        page.get_by_test_id("toast-body").filter(has_text="已从 红楼设定.json 导入 2 条设定").wait_for(timeout=60_000)
        titles = wait_until(lambda: sorted(e.title for e in studio.library.list_lore(project.id)), 30,
                            "the imported entries")
        assert titles == ["大观园", "潇湘馆"]
        shoot(page, "lorebook-imported")
    finally:
        context.close()
