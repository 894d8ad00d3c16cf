"""Manuscript import through a zh-CN page: the split is listed before anything is stored; by default the
chapters go into a new project titled from the file, which opens; asked to, they are appended to the open
project, and the chapter list shows them."""

from __future__ import annotations

import pytest

from browser_steps import choose, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NEW_BOOK = "# 第一章 雾起\n\n城里起了雾。\n\n# 第二章 灯影\n\n灯影在墙上晃。\n\n# 第三章 归人\n\n他终于回来了。\n"
MORE = "# 第二章 夜谈\n\n两人谈到深夜。\n\n# 第三章 天明\n\n天亮了，雾散了。\n"


def _open_import(browser, running):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(running.url + "?lang=zh", timeout=120_000)  # a loaded 2-core box can take >30 s
    page.wait_for_selector("#app-title", timeout=60_000)
    return page


def _upload(page, path) -> None:
    page.get_by_role("tab", name="导出 / 导入", exact=True).click()
    page.locator("#manuscript input[type=file]").set_input_files(str(path))


def test_manuscript_goes_into_a_new_project_or_is_appended(browser, running, tmp_path, shoot):
    studio = running.studio
    before = {p.id for p in studio.library.list_projects()}
    page = _open_import(browser, running)
    try:
        book = tmp_path / "雾城旧事.md"
        book.write_text(NEW_BOOK, encoding="utf-8")
        _upload(page, book)
        status = page.locator("#import-status")
        status.get_by_text("识别出 3 章").wait_for(timeout=60_000)  # listed before anything is stored
        assert "第三章 归人" in status.inner_text()
        assert {p.id for p in studio.library.list_projects()} == before
        shoot(page, "import-01-preview")
        page.locator("#import-manuscript").click()  # the default: a new project
        status.get_by_text("已导入 3 章").wait_for(timeout=60_000)
        created = wait_until(lambda: [p for p in studio.library.list_projects() if p.id not in before], 30,
                             "the new project")
        assert [p.title for p in created] == ["雾城旧事"]
        assert [c.title for c in studio.chapters.list_chapters(created[0].id)] == ["第一章 雾起", "第二章 灯影", "第三章 归人"]
        page.wait_for_function("t => document.querySelector('#project-picker input').value.startsWith(t)",
                               arg="雾城旧事")
        page.get_by_role("tab", name="写作", exact=True).click()
        table = page.locator("#chapters-table")
        wait_until(lambda: "第三章 归人" in table.inner_text(), 30, "the new project's chapters listed")

        target = studio.library.create_project("续写之书", language="zh")
        studio.chapters.add_chapter(target.id, title="第一章 开端")
        page.reload()
        page.wait_for_selector("#app-title", timeout=60_000)
        choose(page, "project-picker", "续写之书")
        page.wait_for_function("t => document.querySelector('#project-picker input').value.startsWith(t)",
                               arg="续写之书")
        more = tmp_path / "后两章.txt"
        more.write_text(MORE, encoding="utf-8")
        _upload(page, more)
        status.get_by_text("识别出 2 章").wait_for(timeout=60_000)
        page.locator("#import-target").get_by_text("当前作品（追加）", exact=True).click()
        page.locator("#import-manuscript").click()
        status.get_by_text("已导入 2 章").wait_for(timeout=60_000)
        titles = ["第一章 开端", "第二章 夜谈", "第三章 天明"]
        wait_until(lambda: [c.title for c in studio.chapters.list_chapters(target.id)] == titles, 30, "the appended chapters")
        assert sorted(p.title for p in studio.library.list_projects() if p.id not in before) == ["续写之书", "雾城旧事"]
        page.get_by_role("tab", name="写作", exact=True).click()
        table = page.locator("#chapters-table")
        wait_until(lambda: all(t in table.inner_text() for t in titles), 30, "the chapter list refreshed")
        shoot(page, "import-02-appended")
    finally:
        page.context.close()
