"""A returning writer: the page opens in their language from the first paint (a zh browser gets 中文 on
its first visit, no English flash), and a reload or a restart reopens the same language, project,
chapter, tab and editor cursor. Each test runs its own server on its own store file."""

from __future__ import annotations

from browser_steps import choose, textbox, wait_until
from serving import free_port
from servers import chromium, new_page, opened, start_server, stop_server  # noqa: F401 (fixture)


def test_a_chinese_browser_gets_chinese_from_the_first_paint(chromium, tiny_parts, tmp_path, shoot):
    server = start_server(tiny_parts, tmp_path, free_port())
    context, page = new_page(chromium, "zh-CN")
    try:
        first = opened(page, server.url)
        assert "写作" in first and "作品" in first
        for english in ("Write", "Projects", "Settings", "Project", "Chapter"):
            assert english not in first, f"{english!r} painted before the page was relabelled"
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        assert server.studio.preferences.language() is None  # a default, not a choice: nothing stored
        shoot(page, "i18n-01-first-visit-zh")
    finally:
        context.close()
        stop_server(server)


def test_reload_and_restart_reopen_language_project_chapter_tab_and_cursor(chromium, tiny_parts, tmp_path, shoot):
    port = free_port()
    server = start_server(tiny_parts, tmp_path, port)
    project = server.studio.library.create_project("Remembered", language="en")
    server.studio.chapters.add_chapter(project.id, title="First")
    second = server.studio.chapters.add_chapter(project.id, title="Second")
    text = "The lamp burned low. " * 40
    server.studio.chapters.save_chapter(second.id, text, 0)
    context, page = new_page(chromium, "en-US")
    try:
        first = opened(page, server.url)
        assert "Write" in first and "写作" not in first  # an English browser: English
        page.get_by_role("tab", name="Write").click()
        choose(page, "project-picker", "Remembered")
        wait_until(lambda: "First" in page.locator("#chapter-picker input").input_value(), 30, "the chapter list")
        choose(page, "chapter-picker", "2. Second")
        editor = textbox(page, "editor")
        wait_until(lambda: editor.input_value() == text, 30, "the second chapter's text")
        editor.click()
        page.keyboard.press("Control+Home")
        for _ in range(9):
            page.keyboard.press("ArrowRight")  # cursor after "The lamp " (keyup saves it)
        page.get_by_role("tab", name="Settings").click()
        page.locator("#ui-language").get_by_text("中文", exact=True).click()
        page.get_by_role("tab", name="写作").wait_for()
        wait_until(lambda: server.studio.preferences.language() == "zh", 20, "the stored choice")

        def reopened_in_place(label: str) -> None:
            first = opened(page, server_url)
            assert "写作" in first and "Write" not in first, first[:200]
            page.get_by_role("tab", name="设置", selected=True).wait_for()  # the tab left open
            wait_until(lambda: "Remembered" in page.locator("#project-picker input").input_value(), 30, "project")
            wait_until(lambda: "Second" in page.locator("#chapter-picker input").input_value(), 30, "chapter")
            page.get_by_role("tab", name="写作").click()
            box = textbox(page, "editor")
            wait_until(lambda: box.input_value() == text, 30, "the chapter's text")
            wait_until(lambda: page.evaluate("document.querySelector('#editor textarea').selectionStart") == 9,
                       20, f"the cursor where it was ({label})")
            shoot(page, f"i18n-02-reopened-{label}")
            page.get_by_role("tab", name="设置").click()  # leave it as it was found

        server_url = server.url
        reopened_in_place("reload")
        stop_server(server)
        server = start_server(tiny_parts, tmp_path, port)  # a restart: a new process on the same store
        reopened_in_place("restart")
    finally:
        context.close()
        stop_server(server)
