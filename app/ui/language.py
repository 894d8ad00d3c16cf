"""How a page opens already in the writer's language, in the place they left, and stays there.

The language of a browser session is, in order: `--ui-language` (forced), `?lang=zh|en` in the address
(that page only), the writer's stored choice (Settings; kept in the story store), the browser's
Accept-Language (zh* → 中文), English.

No English flash: the page is built once in the default language, but CSS keeps it invisible
(`body:not(.inkstone-ready)`) until the page-load handler has settled the session's language and
returned every label, table and choice in it; the reveal step that follows always runs (also after a
failed load), so the page can never stay hidden.

Invariant: one load handler does the whole opening (labels, tables, the remembered project/tab), so
the first visible paint is consistent; a switch in Settings relabels in place and is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import gradio as gr

from app.ui.common import Shell
from app.ui.translator import session_of
from app.ui.strings import LANGUAGES, t

# The page stays invisible until the load handler has relabelled it (see REVEAL_JS).
HIDE_UNTIL_READY_CSS = "body:not(.inkstone-ready) .gradio-container .main { visibility: hidden; }\n"
# Reveal once the tab bar shows the language's tab names too (Gradio repaints tab buttons a frame or
# two after the labels update; at most ~3 s of waiting, then reveal anyway).
REVEAL_JS = """(language) => {
  const wanted = new Set(TAB_LABELS[language] || []);
  const started = performance.now();
  const settled = () => [...document.querySelectorAll("[role=tab]")]
    .every((tab) => wanted.has(tab.innerText.trim()));
  const reveal = () => {
    if (!settled() && performance.now() - started < 3000) { requestAnimationFrame(reveal); return; }
    document.documentElement.lang = language === "zh" ? "zh-CN" : "en";
    document.body.classList.add("inkstone-ready");
  };
  requestAnimationFrame(reveal);
  return [];
}"""


def reveal_js(shell: Shell) -> str:
    """REVEAL_JS with the tab names of every language filled in."""
    keys = [key for component, key, _ in shell.tr.labelled() if isinstance(component, gr.Tab)]
    labels = {language: [t(language, key) for key in keys] for language in LANGUAGES}
    return "(language) => { const TAB_LABELS = " + json.dumps(labels, ensure_ascii=False) + "; return (" + \
        REVEAL_JS + ")(language); }"


def from_accept_language(header: str | None) -> str | None:
    """The first supported language of an Accept-Language header by preference (zh* → "zh")."""
    ranked = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return None


def forced_language(shell: Shell) -> str | None:
    """`--ui-language`, when given (the studio's option; "" means "not forced")."""
    forced = getattr(getattr(shell.studio, "options", None), "ui_language", "") or ""
    return forced if forced in LANGUAGES else None


def language_for(shell: Shell, request: gr.Request | None) -> str:
    """The language a page opened by `request` is shown in (see the module docstring for the order)."""
    forced = forced_language(shell)
    if forced:
        return forced
    asked = request.query_params.get("lang") if request is not None else None
    if asked in LANGUAGES:
        return str(asked)
    stored = shell.studio.preferences.language()
    if stored:
        return stored
    header = request.headers.get("accept-language") if request is not None else None
    return from_accept_language(header) or "en"


def merge_updates(outputs: list[Any], parts: list[tuple[list[Any], Any]]) -> list[Any]:
    """One update per component of `outputs` from (components, their values/updates) parts; a component
    named by several parts gets their updates merged, later parts winning."""
    merged: dict[int, dict[str, Any]] = {id(c): {} for c in outputs}
    for components, values in parts:
        values = values if isinstance(values, (list, tuple)) else [values]
        for component, value in zip(components, values):
            update = value if isinstance(value, dict) else {"value": value}
            merged[id(component)].update({k: v for k, v in update.items() if k != "__type__"})
    return [gr.update(**merged[id(c)]) for c in outputs]


def unique(components: list[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for component in components:
        seen.setdefault(id(component), component)
    return list(seen.values())


def wire_language(shell: Shell, blocks: gr.Blocks, radio: gr.Radio,
                  extra: tuple[tuple[list[Any], Callable[[gr.Request], Any]], ...] = ()) -> None:
    """The page-load opening (language, labels, tables, `extra` parts such as the remembered place) and
    the Settings switch."""
    tr = shell.tr
    loaders = list(shell.on_load)
    outputs = unique([*tr.components, radio, *[c for _, outs in loaders for c in outs],
                      *[c for outs, _ in extra for c in outs]])

    def open_page(request: gr.Request) -> list[Any]:
        language = language_for(shell, request)
        tr.use(session_of(request), language)
        labels = tr.updates(language)
        parts: list[tuple[list[Any], Any]] = [(tr.components, [labels[id(c)] for c in tr.components]),
                                               ([radio], language)]
        parts += [(outs, fn()) for fn, outs in loaders]
        parts += [(outs, fn(request)) for outs, fn in extra]
        return merge_updates(outputs, parts)

    def switch(choice: str, request: gr.Request) -> list[Any]:
        language = choice if choice in LANGUAGES else "en"
        if not forced_language(shell):
            shell.studio.preferences.set_language(language)
        return tr.relabel(language)

    opened = blocks.load(open_page, None, outputs, api_visibility="private")
    opened.then(None, [radio], None, js=reveal_js(shell), api_visibility="private")
    switched = radio.input(switch, [radio], tr.components, api_visibility="private")
    for fn, outs in loaders:  # tables in the new language after a switch
        switched.then(fn, None, outs, api_visibility="private")
    switched.then(None, [radio], None, js=reveal_js(shell), api_visibility="private")
