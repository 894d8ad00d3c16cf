"""The writing desk in a real Chromium: the daily loop never leaves the Write tab; results are checked in the
store (texts, versions, accepted passages), never the model's words."""

from __future__ import annotations

import re

import pytest
from browser_steps import FAST_TOKENS, choose, select_in_editor, textbox, wait_until

from app.studio.changes import apply_changes, review_changes
from app.studio.counting import count_text

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SENTENCE = "她推开门，看见院子里站着一个人。"
POLISHED_BY_HAND = "她轻轻推开门，看见院子里立着一个人。"


def as_shown(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def open_desk(page, running, project: str, chapter: str) -> None:
    """Open the chapter titled `chapter…` of the project `project` and wait until the editor holds *its*
    text, saved: the page first reopens the previous test's book, whose chapter may also be 第一章."""
    studio = running.studio
    book = next(p for p in studio.library.list_projects() if p.title == project)
    stored = next(c for c in studio.chapters.list_chapters(book.id) if c.title.startswith(chapter))
    page.goto(running.url + "?lang=zh", timeout=120_000)  # a loaded 2-core box can take >30 s
    page.wait_for_selector("#app-title", timeout=60_000)
    page.get_by_role("tab", name="写作").click()
    choose(page, "project-picker", project)
    page.wait_for_function("t => document.querySelector('#project-picker input').value.startsWith(t)", arg=project)
    page.wait_for_timeout(300)
    choose(page, "chapter-picker", chapter)
    wait_until(lambda: textbox(page, "editor").input_value() == as_shown(stored.text), 90, "the chapter's text")
    page.locator("#desk-save-state").get_by_text("已保存").wait_for(timeout=90_000)  # a loaded 2-core box


def shown_count(page) -> int:
    words = page.locator("#desk-count").inner_text()
    return int(re.sub(r"\D", "", words) or 0)


def _draft(page, studio, chapter_id: int) -> None:
    # The page records on every animation frame whether the live feedback showed while Stop was enabled:
    # polling from the test (a round trip per look on a loaded box) can miss a stream of a second or two.
    page.evaluate("""() => {
        window.inkstoneLive = false;
        const look = () => {
            const stop = document.querySelector('#stop-write');
            const feedback = document.querySelector('#desk-feedback');
            if (stop && !stop.disabled && feedback && feedback.innerText.includes('词元/秒')) window.inkstoneLive = true;
            if (!window.inkstoneLive) requestAnimationFrame(look);
        };
        look();
    }""")
    page.locator("#draft").click()
    wait_until(lambda: page.evaluate("() => window.inkstoneLive"), 60, "the live feedback")
    wait_until(lambda: studio.chapters.get_chapter(chapter_id).version == 1
               and not page.locator("#stop-write").is_enabled(), 90, "the draft to finish and Stop to disable")
    feedback = page.locator("#desk-feedback").inner_text()
    assert "length" not in feedback and ("完成" in feedback or "上限" in feedback)


def _branches_accept_second(page, studio, store, project_id: int, chapter_id: int, shoot) -> str:
    page.locator("#desk-branches").click()
    wait_until(lambda: [g for g in studio.branches.list_branches(chapter_id) if g[0].task == "branch" and len(g) == 3
                        and all(p.status == "done" for p in g)], 90, "3 branches")
    for i in range(3):
        wait_until(lambda i=i: textbox(page, f"desk-branch-{i}").input_value(), 30, f"branch {i + 1}")
    assert not page.locator("#desk-branch-3").is_visible()
    shoot(page, "desk-02-branches")
    chosen = textbox(page, "desk-branch-1").input_value()
    before = studio.chapters.get_chapter(chapter_id)
    page.locator("#desk-accept-1").click()
    page.locator("#write-status").get_by_text("已采用分支 2").wait_for(timeout=30_000)
    after = studio.chapters.get_chapter(chapter_id)
    assert after.version == before.version + 1 and as_shown(after.text).rstrip().endswith(as_shown(chosen).rstrip())
    accepted = [p for g in studio.branches.list_branches(chapter_id) for p in g if p.accepted and p.task == "branch"]
    assert [p.branch_index for p in accepted] == [1]
    wait_until(lambda: textbox(page, "editor").input_value() == as_shown(after.text), 20, "the editor to show it")
    marked = textbox(page, "editor").evaluate("el => [el.selectionStart, el.selectionEnd]")
    assert marked[1] == len(as_shown(after.text)) and marked[0] >= len(as_shown(before.text).rstrip()) - 2
    assert page.locator("#desk-accept-1").inner_text().startswith("✓")
    shoot(page, "desk-03-accepted")
    return after.text


def _type_at_end(page, text: str) -> None:
    editor = textbox(page, "editor")
    editor.click()
    editor.press("Control+End")
    editor.press_sequentially(text, delay=20)


def _polish_one_change_of_two(page, studio, chapter_id: int, shoot) -> str:
    base = studio.chapters.get_chapter(chapter_id)
    editor_text = textbox(page, "editor").input_value()
    start = editor_text.rfind(SENTENCE)
    select_in_editor(page, start, start + len(SENTENCE))
    page.locator("#desk-polish").click()
    status = page.locator("#desk-review-status")
    wait_until(lambda: "润色" in status.inner_text() and not page.locator("#stop-write").is_enabled(), 90,
               "the polish to finish")
    shoot(page, "desk-04-polish-review")
    result = textbox(page, "desk-polish-result")
    result.fill(POLISHED_BY_HAND)  # the writer's own wording: the review is recomputed against it
    pieces = review_changes(SENTENCE, POLISHED_BY_HAND)
    numbers = [p.number for p in pieces if p.is_change]
    assert len(numbers) == 2
    boxes = page.locator("#desk-changes input[type=checkbox]")
    wait_until(lambda: boxes.count() == 2 and all(boxes.nth(i).is_checked() for i in range(2)), 20, "2 changes")
    assert "手动" in status.inner_text()
    boxes.nth(1).uncheck()  # reject the second change
    page.wait_for_timeout(300)
    shoot(page, "desk-05-one-of-two")
    page.locator("#desk-apply-changes").click()
    stored = wait_until(lambda: (c := studio.chapters.get_chapter(chapter_id)).version > base.version
                        and SENTENCE not in c.text and c, 30, "the polish to be applied")
    chapter_text = as_shown(stored.text)
    wanted = apply_changes(pieces, [numbers[0]])
    assert chapter_text == editor_text[:start] + wanted + editor_text[start + len(SENTENCE):]
    page.locator("#write-status").get_by_text("采用了 1 处").wait_for()
    return chapter_text


def test_desk_daily_loop(page, running, shoot):
    studio, store = running.studio, running.store
    project = studio.library.create_project("灯下夜行", language="zh")
    studio.library.update_project(project.id, settings={"max_new_tokens": {**FAST_TOKENS, "draft": 2000}})
    chapter = studio.chapters.add_chapter(project.id, title="第一章 灯", outline="林远在雨夜里提灯出门。")
    open_desk(page, running, "灯下夜行", "第一章")
    shoot(page, "desk-01-opened")

    _draft(page, studio, chapter.id)
    _branches_accept_second(page, studio, store, project.id, chapter.id, shoot)

    _type_at_end(page, SENTENCE)
    wait_until(lambda: SENTENCE in studio.chapters.get_chapter(chapter.id).text, 90, "the autosave of the typed sentence")
    page.locator("#desk-save-state").get_by_text("已自动保存").wait_for(timeout=90_000)
    stored_count = f"{count_text(studio.chapters.get_chapter(chapter.id).text).total:,} 字"
    wait_until(lambda: stored_count in page.locator("#chapters-table").inner_text(), 30,
               "the chapters table's 字数 to follow the saved text")  # the same count as the editor's
    _polish_one_change_of_two(page, studio, chapter.id, shoot)

    _type_at_end(page, "风很大。OK")
    wait_until(lambda: shown_count(page) == count_text(textbox(page, "editor").input_value()).total, 60,
               "the 字数 to follow the text")
    page.locator("#desk-save-state").get_by_text("未保存").wait_for()  # the pause has not come yet
    typed = wait_until(lambda: (c := studio.chapters.get_chapter(chapter.id)).text.endswith("风很大。OK") and c, 30,
                       "the autosave after the pause")
    page.locator("#desk-save-state").get_by_text("已自动保存").wait_for(timeout=90_000)
    shoot(page, "desk-06-autosaved")

    open_desk(page, running, "灯下夜行", "第一章")
    wait_until(lambda: textbox(page, "editor").input_value() == as_shown(typed.text), 20, "the text after reload")
    assert shown_count(page) == count_text(as_shown(typed.text)).total


def test_search_finds_a_phrase_in_chapter_three_and_opens_it(page, running, shoot):
    studio = running.studio
    project = studio.library.create_project("寻灯记", language="zh")
    texts = ["第一章的开头，风平浪静。", "第二章里，他们走进山谷。", "第三章：夜半时分，青铜古灯忽然亮了起来。"]
    for i, text in enumerate(texts):
        chapter = studio.chapters.add_chapter(project.id, title=f"第{'一二三'[i]}章")
        studio.chapters.save_chapter(chapter.id, text, 0)
    third = studio.chapters.list_chapters(project.id)[2]
    open_desk(page, running, "寻灯记", "第一章")
    textbox(page, "desk-search").fill("青铜古灯")
    page.locator("#desk-search-run").click()
    page.locator("#desk-search-results mark").first.wait_for(timeout=30_000)
    assert page.locator("#desk-search-results mark").first.inner_text() == "青铜古灯"
    assert "第三章" in page.locator("#desk-search-results").inner_text()
    shoot(page, "desk-07-search")
    page.locator("#desk-search-hits").get_by_text("第三章").first.click()
    wait_until(lambda: textbox(page, "editor").input_value() == texts[2], 30, "chapter 3 in the editor")
    assert "第三章" in page.locator("#chapter-picker input").input_value()
    at = texts[2].find("青铜古灯")
    wait_until(lambda: textbox(page, "editor").evaluate("el => [el.selectionStart, el.selectionEnd]")
               == [at, at + 4], 10, "the hit selected in the editor")
    assert studio.chapters.get_chapter(third.id).text == texts[2]


def test_polish_cut_short_is_accepted_only_by_hand_and_recorded(page, running, shoot):
    studio, store = running.studio, running.store
    project = studio.library.create_project("半途", language="zh")
    chapter = studio.chapters.add_chapter(project.id, title="第一章")
    text = "开篇一句。" + SENTENCE + "结尾一句。"
    studio.chapters.save_chapter(chapter.id, text, 0)
    open_desk(page, running, "半途", "第一章")
    page.get_by_text("更多选项").click()
    page.locator("#desk-seed input").fill("5")  # a fixed seed: this polish runs to its 16-token limit
    start = text.find(SENTENCE)
    select_in_editor(page, start, start + len(SENTENCE))
    page.locator("#desk-polish").click()
    status = page.locator("#desk-review-status")
    wait_until(lambda: "未写完" in status.inner_text(), 90, "the cut-short warning")
    page.locator("#desk-accept-all").click()  # untouched: refused, nothing changes
    page.locator("#write-status").get_by_text("润色未完成").wait_for(timeout=20_000)  # the refusal, in 中文
    assert studio.chapters.get_chapter(chapter.id).version == 1
    textbox(page, "desk-polish-result").fill(POLISHED_BY_HAND)  # finished by hand
    wait_until(lambda: "手动" in status.inner_text() and "未写完" in status.inner_text(), 20,
               "the hand edit noted, the warning kept")
    page.locator("#desk-accept-all").click()
    stored = wait_until(lambda: (c := studio.chapters.get_chapter(chapter.id)).version == 2 and c, 30, "accepted")
    assert stored.text == "开篇一句。" + POLISHED_BY_HAND + "结尾一句。"
    polishes = [p for p in store.list_passages(project.id, chapter.id) if p.task == "polish"]
    assert len(polishes) == 1 and polishes[0].finish_reason == "length"  # the model's attempt stays on record
    newest = max(studio.chapters.list_revisions(chapter.id), key=lambda r: r.version)
    assert (newest.version, newest.text) == (2, stored.text)
