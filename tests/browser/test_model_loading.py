"""The server comes up before the model: a zh-CN page opens at once, says the model is loading (with the
seconds so far), refuses a draft with that reason, and when the load ends hides the line, says the model
is ready and drafts."""

from __future__ import annotations

import threading

from browser_steps import choose, wait_until
from serving import free_port
from servers import chromium, new_page, opened, start_server, stop_server  # noqa: F401 (fixture)

from app.engine.background import BackgroundEngine


def test_the_page_shows_the_model_loading_then_ready(chromium, tiny_parts, tmp_path, shoot):
    gate = threading.Event()

    def in_background(engine):
        def build():
            assert gate.wait(300), "the test never let the load finish"
            return engine
        return BackgroundEngine(build, model_id="tiny-xverse", context_length=4096).start()

    server = start_server(tiny_parts, tmp_path, free_port(), engine_around=in_background)
    project = server.studio.library.create_project("灯塔", language="zh")
    chapter = server.studio.chapters.add_chapter(project.id, title="第一章", outline="海风很大，灯塔亮了。")
    server.studio.library.update_project(project.id, settings={"max_new_tokens": {"draft": 12}})
    context, page = new_page(chromium, "zh-CN")
    try:
        opened(page, server.url)
        banner = page.locator("#model-loading")
        wait_until(lambda: "正在加载模型 tiny-xverse" in banner.inner_text(), 60, "the loading line")
        first = banner.inner_text()
        wait_until(lambda: banner.inner_text() != first, 60, "the seconds ticking")  # the timer runs
        shoot(page, "model-01-loading")
        page.get_by_role("tab", name="写作").click()
        choose(page, "project-picker", "灯塔")
        choose(page, "chapter-picker", "1. 第一章")
        page.locator("#draft").click()
        wait_until(lambda: page.locator(".toast-body").filter(has_text="正在加载模型").count() > 0, 60,
                   "the draft refused with the loading reason")
        gate.set()
        wait_until(lambda: not banner.is_visible(), 60, "the loading line hidden")
        wait_until(lambda: page.locator(".toast-body").filter(has_text="已加载").count() > 0, 60, "the ready toast")
        shoot(page, "model-02-ready")
        page.locator("#draft").click()
        wait_until(lambda: server.store.list_passages(project.id, chapter.id), 120, "a draft once loaded")
    finally:
        gate.set()
        context.close()
        stop_server(server)
