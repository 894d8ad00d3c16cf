"""Two real browser tabs on one chapter outline: the stale tab's save is refused on screen, its text
stays in its textbox, and the History panel next to the outline restores the first version."""

from __future__ import annotations

from browser_steps import choose, open_chapter, open_tab, textbox, wait_until


def test_stale_outline_save_is_refused_and_history_restores(browser, running, shoot):
    studio = running.studio
    project = studio.library.create_project("History Tabs", language="en")
    chapter = studio.chapters.add_chapter(project.id, title="Outlined", outline="The first outline.")
    pages = []
    try:
        for _ in range(2):
            context = browser.new_context(viewport={"width": 1400, "height": 1400})
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.goto(running.url, timeout=120_000)  # a loaded 2-core box can take >30 s
            page.wait_for_selector("#app-title", timeout=60_000)
            open_tab(page, "Write")
            open_chapter(page, "History Tabs", "Outlined")
            pages.append(page)
        first, second = pages
        textbox(first, "chapter-outline").fill("The careful second outline.")
        first.locator("#save-outline").click()
        wait_until(lambda: studio.chapters.get_chapter(chapter.id).outline_version == 1, 20, "the first save")
        textbox(second, "chapter-outline").fill("The stale tab's outline.")
        second.locator("#save-outline").click()
        second.get_by_text("Not saved", exact=False).first.wait_for()
        shoot(second, "10-outline-conflict")
        assert textbox(second, "chapter-outline").input_value() == "The stale tab's outline."
        assert studio.chapters.get_chapter(chapter.id).outline == "The careful second outline."

        first.locator("#chapter-outline-history").get_by_text("History of the outline").first.click()
        choose(first, "chapter-outline-versions", "v0")
        first.locator("#chapter-outline-restore").click()
        wait_until(lambda: textbox(first, "chapter-outline").input_value() == "The first outline.", 20,
                   "the restored outline on screen")
        shoot(first, "11-outline-restored")
        stored = studio.chapters.get_chapter(chapter.id)
        assert (stored.outline, stored.outline_version) == ("The first outline.", 2)
    finally:
        for page in pages:
            page.context.close()
