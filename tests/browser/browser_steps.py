"""What a writer does in the page, as small playwright steps (Gradio 6 DOM: elem_id on each block)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

FAST_TOKENS = {"draft": 24, "continue": 16, "branch": 12, "brainstorm": 16, "summary": 12, "polish": 16,
               "roleplay": 12}


def wait_until(condition: Callable[[], Any], timeout_s: float = 60.0, what: str = "condition") -> Any:
    """Poll `condition` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")


def textbox(page, elem_id: str):
    return page.locator(f"#{elem_id} textarea").first


# Tabs inside the Tools tab (the book's writing aids) -> the top-level tab to open first.
TOOL_TABS = {name: "Tools" for name in ("Branches", "Consistency", "Polish", "Summaries", "Context",
                                         "Outlines & scripts")}
TOOL_TABS |= {name: "创作工具" for name in ("分支", "一致性", "润色", "摘要", "上下文", "大纲与文案")}


def open_tab(page, name: str) -> None:
    """Open a tab by its label; one inside Tools opens Tools first."""
    if name in TOOL_TABS:
        page.get_by_role("tab", name=TOOL_TABS[name], exact=True).click()
    page.get_by_role("tab", name=name, exact=True).click()


def choose(page, elem_id: str, label: str) -> None:
    """Pick the option whose label contains `label` in the dropdown `elem_id`."""
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=label).first.click()


def create_project(page, title: str, language: str = "English") -> None:
    open_tab(page, "Projects")
    textbox(page, "new-project-title").fill(title)
    page.locator("#new-project-language").get_by_text(language, exact=True).click()
    page.locator("#create-project").click()
    page.wait_for_function(
        "t => document.querySelector('#project-picker input').value.startsWith(t)", arg=title)


def project_by_title(studio, title: str):
    return wait_until(lambda: next((p for p in studio.library.list_projects() if p.title == title), None),
                      what=f"project {title!r}")


def open_chapter(page, project_label: str, chapter_label: str) -> None:
    """Select a project and one of its chapters in the header, as a returning writer would."""
    choose(page, "project-picker", project_label)
    page.wait_for_timeout(300)
    choose(page, "chapter-picker", chapter_label)
    page.wait_for_function("() => document.querySelector('#write-status').innerText.includes('version')")


def add_chapter(page, title: str, outline: str) -> None:
    open_tab(page, "Write")
    if not textbox(page, "chapter-title").is_visible():  # the desk keeps chapter settings folded
        page.locator("#chapter-settings").click()
    textbox(page, "chapter-title").fill(title)
    textbox(page, "chapter-outline").fill(outline)
    page.locator("#add-chapter").click()
    page.wait_for_function("() => document.querySelector('#write-status').innerText.includes('version 0')")


def status_text(page, elem_id: str = "write-status") -> str:
    return page.locator(f"#{elem_id}").inner_text()


def select_in_editor(page, start: int, end: int) -> None:
    """Select editor[start:end] as a writer would, and wait until the server has it: the desk then says
    how many characters are selected (the select event's own answer, not a fixed pause)."""
    textbox(page, "editor").evaluate("(el, [a, b]) => { el.focus(); el.setSelectionRange(a, b); }", [start, end])
    wait_until(lambda: f" {end - start} " in page.locator("#desk-selection").inner_text(), 60,
               "the selection to reach the server")
