"""Per-test Inkstone servers on their own store files (a restart is a new server on the same file), and a
Chromium for them; pages that record their first visible paint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser_steps import wait_until
from conftest import CHROMIUM, CHROMIUM_ARGS, _require_chromium

# Records the app's text the first time it is visible (Gradio's own "loading" screen comes before it,
# then the app, hidden by our CSS until relabelled).
FIRST_PAINT_JS = """
window.__firstPaint = null;
const look = () => {
  const main = document.querySelector('.gradio-container .main');
  if (main && document.querySelector('#app-title') && getComputedStyle(main).visibility === 'visible') {
    window.__firstPaint = main.innerText;
    return;
  }
  requestAnimationFrame(look);
};
requestAnimationFrame(look);
"""


@dataclass
class Server:
    app: object
    studio: object
    store: object
    url: str


def start_server(tiny_parts, data: Path, port: int, engine_around: Callable[[Any], Any] | None = None) -> Server:
    """One Inkstone process as launch.py builds it: a Store on `data`, the studio, the app;
    `engine_around(engine)` may wrap the engine first (launch.py loads it in the background)."""
    from app.engine.transformers_engine import TransformersEngine
    from app.studio import Studio, StudioOptions
    from app.ui import build_app
    from serving import launch_for_test
    from story_store import Store

    store = Store(f"sqlite:///{data / 'inkstone.db'}")
    model, tokenizer = tiny_parts
    engine = TransformersEngine(model, tokenizer, model_id="tiny-xverse", context_length=4096,
                                notes="demo model: text is random")
    if engine_around is not None:
        engine = engine_around(engine)
    studio = Studio(store, engine, StudioOptions(export_dir=data / "exports", demo=True))
    app = build_app(studio)
    url = launch_for_test(app, port)
    return Server(app, studio, store, url)


def stop_server(server: Server) -> None:
    server.studio.cancel_all()
    server.app.close()
    server.store.close()


@pytest.fixture(scope="module")
def chromium(tiny_parts) -> Iterator[object]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(chromium, locale: str):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale=locale)
    context.set_default_timeout(30_000)
    context.add_init_script(FIRST_PAINT_JS)
    return context, context.new_page()


def opened(page, url: str) -> str:
    """Open `url` and wait for the page to be shown; returns its text at the first visible paint."""
    page.goto(url, timeout=120_000)  # a loaded 2-core box can take >30 s
    page.wait_for_selector("#app-title", state="visible", timeout=60_000)
    return wait_until(lambda: page.evaluate("window.__firstPaint"), 30, "the first paint")
