"""A writer's journeys through the studio in a real Chromium; results are checked in the store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_steps import (
    FAST_TOKENS,
    add_chapter,
    choose,
    create_project,
    open_chapter,
    open_tab,
    project_by_title,
    select_in_editor,
    status_text,
    textbox,
    wait_until,
)
from conftest import launched_studio

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def as_shown(text: str) -> str:
    """The text as a textarea holds it (random text may contain \\r; browsers normalise line breaks)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _draft_streams_into_editor(page, studio, chapter_id: int) -> str:
    """Click Draft; the editor must show at least two different partial texts before it finishes."""
    # The page itself records each distinct editor text on every animation frame: polling from the test
    # (one round trip per look, slow on a loaded box) could miss a stream that lasts a second or two.
    page.evaluate("""() => {
        window.inkstoneSeen = [];
        const look = () => {
            const box = document.querySelector('#editor textarea');
            const seen = window.inkstoneSeen;
            if (box && box.value && seen[seen.length - 1] !== box.value) seen.push(box.value);
            window.inkstoneLook = requestAnimationFrame(look);
        };
        look();
    }""")
    page.locator("#draft").click()

    def finished() -> bool:
        return studio.chapters.get_chapter(chapter_id).version == 1 and "✓" in status_text(page)

    wait_until(finished, 90, "the draft to finish")
    seen = page.evaluate("() => { cancelAnimationFrame(window.inkstoneLook); return window.inkstoneSeen; }")
    assert len(set(seen)) >= 2, "the draft did not stream in (one update only)"
    chapter = studio.chapters.get_chapter(chapter_id)
    assert chapter.version == 1 and chapter.text and textbox(page, "editor").input_value() == as_shown(chapter.text)
    return chapter.text


def _branches_accept_second(page, studio, store, project_id: int, chapter_id: int, shoot) -> None:
    open_tab(page, "Branches")
    page.locator("#generate-branches").click()
    group = wait_until(lambda: [g for g in studio.branches.list_branches(chapter_id) if g[0].task == "branch"
                                and len(g) == 3 and all(p.status == "done" for p in g)], 90, "3 branches")[0]
    for i in range(3):
        wait_until(lambda i=i: textbox(page, f"branch-{i}").input_value(), 30, f"branch {i} text")
    assert not page.locator("#branch-3").is_visible()
    shoot(page, "03-branches")
    chosen = textbox(page, "branch-1").input_value()
    before = studio.chapters.get_chapter(chapter_id)
    page.locator("#accept-branch-1").click()
    after = wait_until(lambda: (c := studio.chapters.get_chapter(chapter_id)).version > before.version and c, 30, "accept")
    assert after.text.startswith(before.text) and chosen in after.text
    accepted = [p for g in studio.branches.list_branches(chapter_id) for p in g if p.accepted and p.task == "branch"]
    assert [p.branch_index for p in accepted] == [1] and accepted[0].id in [p.id for p in group]
    assert len(store.list_preferences(project_id)) == 2  # the choice against each sibling


def _polish_and_accept(page, studio, chapter_id: int, shoot) -> str:
    """Select part of the editor, polish it, and accept it into exactly that place."""
    chapter = studio.chapters.get_chapter(chapter_id)
    plain = chapter.text.find("\r") % (len(chapter.text) + 1)  # offsets agree with the textarea before any \r
    start, end = min(5, plain // 4), min(25, plain)
    open_tab(page, "Write")
    select_in_editor(page, start, end)
    open_tab(page, "Polish")
    page.locator("#use-chapter-text").click()
    wanted = chapter.text[start:end]
    wait_until(lambda: textbox(page, "polish-original").input_value() == wanted, 20, "the selected text")
    page.locator("#polish").click()
    wait_until(lambda: page.locator("#polish-diff .token").count() > 0, 90, "the diff")
    status = wait_until(lambda: page.locator("#polish-status").inner_text(), 20, "the finish reason")
    shoot(page, "04-polish-diff")
    if "(length limit reached)" in status:  # a cut-short polish is refused; nothing changes
        page.locator("#accept-polish").click()
        # the refusal lands in this tab's status (the Write tab's status, hidden here, gets it too)
        page.locator("#polish-status").get_by_text("polish a shorter", exact=False).wait_for(timeout=20_000)
        assert studio.chapters.get_chapter(chapter_id).version == chapter.version
    else:
        assert "(finished)" in status
    result = textbox(page, "polish-result")
    revised = result.input_value() + "!"
    result.click()
    result.press("Control+End")
    result.press_sequentially("!")  # edited by hand: the writer's own text now
    wait_until(lambda: "!" in page.locator("#polish-diff").inner_text(), 20, "the diff of the hand edit")
    page.locator("#accept-polish").click()
    after = wait_until(lambda: (c := studio.chapters.get_chapter(chapter_id)).version > chapter.version and c, 30, "polish")
    assert after.text == chapter.text[:start] + revised + chapter.text[end:]
    return after.text


def _export_markdown(page, title: str, chapter_title: str, text: str, shoot) -> None:
    open_tab(page, "Export / Import")
    page.locator("#export").click()
    link = page.locator("#exported-file a").first
    link.wait_for(timeout=30_000)
    with page.expect_download() as download:
        link.click()
    exported = Path(download.value.path()).read_text("utf-8")
    shoot(page, "05-export")
    assert exported.startswith(f"# {title}")
    assert re.search(rf"^## {re.escape(chapter_title)}$", exported, re.M)
    assert text.strip()[:20] in exported


def test_write_branch_polish_export_journey(page, running, shoot):
    studio, store = running.studio, running.store
    create_project(page, "Harbor Lights")
    project = project_by_title(studio, "Harbor Lights")
    studio.library.update_project(project.id, settings={"max_new_tokens": {**FAST_TOKENS, "draft": 2000}})  # streams for seconds
    shoot(page, "01-projects")

    open_tab(page, "Characters")
    textbox(page, "character-name").fill("Mara")
    page.locator("#add-character").click()
    wait_until(lambda: [c.name for c in studio.library.list_characters(project.id)] == ["Mara"], 20, "the character")

    add_chapter(page, "Chapter 1: The Lamp", "Mara finds a lamp that still burns after the storm.")
    (chapter,) = studio.chapters.list_chapters(project.id)
    assert chapter.outline.startswith("Mara finds a lamp")
    _draft_streams_into_editor(page, studio, chapter.id)
    shoot(page, "02-write-draft")

    _branches_accept_second(page, studio, store, project.id, chapter.id, shoot)
    revised = _polish_and_accept(page, studio, chapter.id, shoot)
    _export_markdown(page, "Harbor Lights", "Chapter 1: The Lamp", revised, shoot)
    _shoot_every_tab(page, shoot)


def _shoot_every_tab(page, shoot) -> None:
    """One screenshot per tab with the journey's project open (for the issue note)."""
    open_tab(page, "Context")
    page.locator("#context-preview").click()
    page.locator("#budget-bar").wait_for()
    for index, name in enumerate(["Projects", "Characters", "Lore", "Write", "Branches", "Polish", "Summaries",
                                  "Context", "Outlines & scripts", "Role-play", "Export / Import", "Settings"]):
        open_tab(page, name)
        page.wait_for_timeout(300)
        shoot(page, f"tab-{index:02d}-{name.split()[0].lower()}")


def _start_chat(page, studio, title: str, name: str, greeting: str, shown: str):
    """A new English project with one character; its chat started through the Role-play tab."""
    project = studio.library.create_project(title, language="en")
    studio.library.update_project(project.id, settings={"max_new_tokens": FAST_TOKENS})
    studio.library.create_character(project.id, name, greeting=greeting)
    page.reload()
    page.wait_for_selector("#app-title")
    choose(page, "project-picker", title)
    open_tab(page, "Role-play")
    choose(page, "rp-character", name)
    page.locator("#chat-start").click()
    page.locator("#chatbot").get_by_text(shown).wait_for()
    return project, wait_until(lambda: studio.roleplay.list_chats(project.id), 20, "the chat")[0]


def test_roleplay_regenerate_and_switch_alternatives(page, running, shoot):
    studio = running.studio
    project, session = _start_chat(page, studio, "Tea House", "Wen", "Welcome, traveller.", "Welcome, traveller.")

    textbox(page, "chat-input").fill("What tea do you serve?")
    page.locator("#chat-send").click()
    wait_until(lambda: page.locator("#alt-position").inner_text().strip() == "1/1", 60, "the reply")
    first = studio.roleplay.chat_transcript(session.id)
    assert [m.role for m in first] == ["character", "user", "character"]

    page.locator("#chat-regenerate").click()
    wait_until(lambda: page.locator("#alt-position").inner_text().strip() == "2/2", 60, "the alternative")
    assert studio.roleplay.chat_transcript(session.id)[-1].id != first[-1].id
    shoot(page, "06-roleplay")
    page.locator("#alt-previous").click()
    wait_until(lambda: page.locator("#alt-position").inner_text().strip() == "1/2", 30, "the switch back")
    assert studio.roleplay.chat_transcript(session.id)[-1].id == first[-1].id
    # inline: the chat's own retry button on the last reply adds a third alternative in place
    page.locator("#chatbot").get_by_role("button", name="Retry").last.click()
    wait_until(lambda: page.locator("#alt-position").inner_text().strip() == "3/3", 60, "the inline retry")
    path = studio.roleplay.chat_transcript(session.id)
    assert [m.role for m in path] == ["character", "user", "character"] and path[-1].id not in {first[-1].id}


def test_chinese_interface_renders(browser, running, shoot):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(running.url + "?lang=zh", timeout=120_000)  # a loaded 2-core box can take >30 s
        page.get_by_role("tab", name="写作").wait_for(timeout=60_000)
        # the banner is relabelled after load like the tabs, not necessarily in the same update: wait for it
        page.get_by_text("演示模型：仅供试用的小模型，生成的文字并非真正的文章").wait_for(timeout=60_000)
        shoot(page, "07-zh-projects")
        page.get_by_role("tab", name="写作").click()
        page.get_by_text("按大纲起草").wait_for()
        shoot(page, "08-zh-write")
        page.get_by_role("tab", name="设置").click()
        page.get_by_text("界面语言").wait_for()
        page.locator("#ui-language").get_by_text("English", exact=True).click()
        page.get_by_role("tab", name="Write").wait_for()  # switching back relabels in place
    finally:
        context.close()


def test_second_tab_save_is_refused_and_first_text_survives(browser, running, shoot):
    studio = running.studio
    project = studio.library.create_project("Two Tabs", language="en")
    chapter = studio.chapters.add_chapter(project.id, title="Shared chapter")
    pages = []
    try:
        for _ in range(2):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.goto(running.url, timeout=120_000)  # a loaded 2-core box can take >30 s
            page.wait_for_selector("#app-title")
            open_tab(page, "Write")
            open_chapter(page, "Two Tabs", "Shared chapter")
            pages.append(page)
        first, second = pages
        textbox(first, "editor").fill("The first tab's careful sentence.")
        first.locator("#save-chapter").click()
        wait_until(lambda: "Saved as version 1" in status_text(first), 20, "the first save")
        textbox(second, "editor").fill("The stale tab's sentence.")
        second.locator("#save-chapter").click()
        wait_until(lambda: "saved elsewhere" in status_text(second), 20, "the conflict message")
        shoot(second, "09-conflict")
        assert textbox(second, "editor").input_value() == "The stale tab's sentence."  # nothing lost on screen
        stored = studio.chapters.get_chapter(chapter.id)
        assert (stored.text, stored.version) == ("The first tab's careful sentence.", 1)
    finally:
        for page in pages:
            page.context.close()


@pytest.fixture(scope="module")
def long_running(tiny_parts, tmp_path_factory):
    """A second studio whose context holds a 30,000-token draft: one that streams long after the page closes."""
    # the random tiny model: greedy, it never writes end-of-text, so the run outlives the page
    with launched_studio(tiny_parts, tmp_path_factory.mktemp("long-data"), context_length=65536,
                         model_id="tiny-xverse") as studio:
        yield studio


def test_closing_the_page_keeps_the_streamed_text(browser, long_running):
    studio, store = long_running.studio, long_running.store
    project = studio.library.create_project("Closed Tab", language="en")
    # Greedy: the same text every run, and (checked below) no end-of-text token before the page closes.
    studio.library.update_project(project.id, settings={"max_new_tokens": {**FAST_TOKENS, "draft": 30000},
                                                        "sampling": {"temperature": 0.0}})
    chapter = studio.chapters.add_chapter(project.id, title="Long night", outline="A storm that never ends.")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(long_running.url, timeout=120_000)  # a loaded 2-core box can take >30 s
    page.wait_for_selector("#app-title")
    open_tab(page, "Write")
    open_chapter(page, "Closed Tab", "Long night")
    page.locator("#draft").click()
    seen = wait_until(lambda: len(t := textbox(page, "editor").input_value()) > 40 and t, 60, "streamed text")
    context.close()

    def kept():
        drafts = [p for p in store.list_passages(project.id, chapter.id) if p.task == "draft"]
        return drafts and drafts[0].text.startswith(seen) and drafts[0].status != "streaming" and drafts[0]

    passage = wait_until(kept, 60, "the streamed text to be persisted and the run to end")
    assert passage.status == "cancelled" and len(passage.text) >= len(seen)
    assert studio.chapters.get_chapter(chapter.id).version == 0  # a closed page's run adds nothing to the chapter


def test_roleplay_inline_edit_and_speakers(page, running, shoot):
    """The pencil on a message edits it in place: saved as a new version of that message, its text exactly
    what was typed (markup-looking text included); the header names who talks and shows the card portrait."""
    studio = running.studio
    project, session = _start_chat(page, studio, "Lantern Street", "Mei", "Hello, {{user}}. Tea?", "Tea?")
    wait_until(lambda: "Mei" in page.locator("#chat-speakers").inner_text(), 30, "the speakers line")
    greeting = studio.roleplay.chat_transcript(session.id)[0]

    page.locator("#chatbot .message").first.hover()
    page.locator("#chatbot").get_by_role("button", name="Edit").first.click()
    edited = "Hello again <b>friend</b> — see www.tea.test [menu]."
    page.locator("#chatbot textarea").first.fill(edited)
    page.locator("#chatbot").get_by_role("button", name="Submit").first.click()
    wait_until(lambda: studio.roleplay.chat_transcript(session.id)[0].text == edited, 60, "the inline edit saved")
    saved = studio.roleplay.chat_transcript(session.id)[0]
    assert saved.id == greeting.id and saved.version == greeting.version + 1
    page.locator("#chatbot").get_by_text("Hello again <b>friend</b>", exact=False).wait_for()
    assert page.locator("#chatbot b").count() == 0  # shown as text, never as markup
    shoot(page, "06b-roleplay-inline-edit")
