"""No other language leaks into the page: a walk through every tab and its dropdowns, an error toast, a
warning toast, the context inspector and Settings — in 中文 it fails on any visible run of Latin letters
not on a short allow-list (model ids, file formats, units, "Inkstone"); in English on any CJK text
(except the language's own name, 中文, in the language pickers). The story data is in the walk's
language, so what is found is the interface's own text. Screenshots: artifacts/screenshots/leak-*.png."""

from __future__ import annotations

import re

import pytest
from browser_steps import choose, open_tab, textbox, wait_until
from serving import free_port
from servers import chromium, new_page, opened, start_server, stop_server  # noqa: F401 (fixture)

LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z0-9'’\-]*")
CJK_RUN = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]+")
# Latin a Chinese page may show: the product and model names, file formats and the tools that read them,
# units, engine settings.
LATIN_ALLOWED = {"Inkstone", "tiny-xverse", "XVERSE", "Markdown", "EPUB", "PNG", "JSON", "JSONL", "png", "json",
                 "md", "txt", "SillyTavern", "NovelAI", "TRL", "ms-swift", "LoRA", "DPO", "fp32", "cpu", "CPU", "GPU", "GiB",
                 "MiB", "UTC",
                 "English",  # the language pickers name English in English
                 "s"}  # seconds: Gradio's own timer on a component whose event is running ("0.8s")
CJK_ALLOWED = {"中文"}  # the language pickers name Chinese in Chinese
TABS = {"zh": ["作品", "人物", "设定", "写作", "创作工具", "角色扮演", "导出 / 导入", "我的文风", "设置"],
        "en": ["Projects", "Characters", "Lore", "Write", "Tools", "Role-play", "Export / Import", "My style",
               "Settings"]}
TOOL_TABS = {"zh": ["分支", "一致性", "润色", "摘要", "上下文", "大纲与文案"],
             "en": ["Branches", "Consistency", "Polish", "Summaries", "Context", "Outlines & scripts"]}
STORY = {
    "zh": dict(title="青云志", chapter="第一章 山门", text="山门初开，青云门收徒。少年沈砚秋站在石阶下。",
               character="沈砚秋", lore="青云门", lore_text="青云门是修真大派。"),
    "en": dict(title="The Lamp", chapter="The Gate", text="The gate opened at dawn. Mara waited on the steps.",
               character="Mara", lore="The Order", lore_text="The Order keeps the lamps."),
}

# Everything the writer can read: the page's rendered text plus the shown values of single-line inputs
# (dropdowns, numbers); textareas hold the writer's own text and are left out.
VISIBLE_TEXT_JS = """() => {
  const root = document.querySelector('.gradio-container');
  const shown = [...root.querySelectorAll('input')]
    .filter((i) => i.offsetParent !== null && !['range', 'file', 'radio', 'checkbox'].includes(i.type) && i.value)
    .map((i) => i.value);
  return root.innerText + '\\n' + shown.join('\\n');
}"""


def leaks(text: str, language: str) -> list[str]:
    if language == "zh":
        return sorted({run for run in LATIN_RUN.findall(text) if run not in LATIN_ALLOWED})
    return sorted({run for run in CJK_RUN.findall(text) if run not in CJK_ALLOWED})


def dropdown_options(page) -> str:
    """Open each visible dropdown of the tab and read its options (then close it)."""
    texts = []
    inputs = page.locator(".gradio-container [role=listbox]:visible, .gradio-container input[role=combobox]:visible")
    for index in range(inputs.count()):
        box = inputs.nth(index)
        try:
            box.click(timeout=5_000)
        except Exception:  # noqa: BLE001 - a disabled or covered dropdown has no options to read
            continue
        options = page.locator("[role=option]")
        if options.count():
            texts += options.all_inner_texts()
        page.keyboard.press("Escape")
    return "\n".join(texts)


def seen(page) -> str:
    return page.evaluate(VISIBLE_TEXT_JS)


def toast_text(page, what: str) -> str:
    toast = page.locator(".toast-body").last
    toast.wait_for(timeout=30_000)
    text = wait_until(lambda: toast.inner_text().strip(), 10, what)
    return text


def walk(chromium, tiny_parts, tmp_path, shoot, language: str) -> dict[str, list[str]]:
    """Every place of the studio in `language`; returns {place: leaked runs} (empty lists when clean)."""
    server = start_server(tiny_parts, tmp_path, free_port())
    story = STORY[language]
    studio = server.studio
    project = studio.library.create_project(story["title"], language=language)
    chapter = studio.chapters.add_chapter(project.id, title=story["chapter"], outline=story["text"])
    studio.chapters.save_chapter(chapter.id, story["text"], 0)
    studio.library.create_character(project.id, story["character"], description=story["text"])
    studio.library.create_lore_entry(project.id, title=story["lore"], content=story["lore_text"], keys=[story["lore"]])
    found: dict[str, list[str]] = {}
    context, page = new_page(chromium, "zh-CN" if language == "zh" else "en-US")
    try:
        found["first paint"] = leaks(opened(page, server.url), language)
        tabs, tools = TABS[language], TOOL_TABS[language]
        # every tab fits the 1400 px bar (none is pushed into Gradio's "⋯" overflow menu), sub-tabs too
        found["tab bar"] = [n for n in tabs if not page.get_by_role("tab", name=n, exact=True).is_visible()]
        open_tab(page, tabs[4])
        found["tools tab bar"] = [n for n in tools if not page.get_by_role("tab", name=n, exact=True).is_visible()]
        open_tab(page, tabs[3])
        choose(page, "project-picker", story["title"])
        choose(page, "chapter-picker", story["chapter"])
        wait_until(lambda: textbox(page, "editor").input_value() == story["text"], 30, "the chapter")
        for index, name in enumerate(tabs + tools):
            open_tab(page, name)
            page.wait_for_timeout(300)
            found[f"tab {name}"] = leaks(seen(page) + "\n" + dropdown_options(page), language)
            shoot(page, f"leak-{language}-{index:02d}")
        # an error: polish with nothing to polish
        open_tab(page, tools[2])
        textbox(page, "polish-original").fill("")
        page.locator("#polish").click()
        found["error toast"] = leaks(toast_text(page, "the error"), language)
        shoot(page, f"leak-{language}-error")
        page.reload()
        opened(page, server.url)
        # a warning: save over a version saved elsewhere meanwhile
        open_tab(page, tabs[3])
        wait_until(lambda: textbox(page, "editor").input_value() == story["text"], 30, "the chapter again")
        studio.chapters.save_chapter(chapter.id, story["text"] + story["text"], 1)
        textbox(page, "editor").fill(story["text"] + "!")
        page.locator("#save-chapter").click()
        found["warning toast"] = leaks(toast_text(page, "the warning"), language)
        found["write status"] = leaks(page.locator("#write-status").inner_text(), language)
        shoot(page, f"leak-{language}-warning")
        # the inspector
        open_tab(page, tools[4])
        page.locator("#context-preview").click()
        page.locator("#context-plan table").first.wait_for(timeout=60_000)
        found["inspector"] = leaks(seen(page), language)
        shoot(page, f"leak-{language}-inspector")
        open_tab(page, tabs[8])
        found["settings"] = leaks(seen(page) + "\n" + dropdown_options(page), language)
        shoot(page, f"leak-{language}-settings")
    finally:
        context.close()
        stop_server(server)
    return found


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_whole_studio_speaks_one_language(chromium, tiny_parts, tmp_path, shoot, language):
    found = walk(chromium, tiny_parts, tmp_path, shoot, language)
    assert len(found) >= 23  # every tab, the toasts, the inspector and Settings were looked at
    assert {place: runs for place, runs in found.items() if runs} == {}
