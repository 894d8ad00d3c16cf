"""Browser fixtures: one launched app per module (real Studio on a tmp SQLite store and the tiny random
XVERSE-MoE) and Debian's Chromium driven by playwright. Screenshots go to artifacts/screenshots/.

Skips (with the reason) only when /usr/bin/chromium is absent and CI is not "true"; in CI a missing
browser fails the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{CHROMIUM} is missing; CI must install Debian's chromium for the browser tests")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium fonts-wqy-zenhei to run these)")


@dataclass
class RunningStudio:
    studio: object
    store: object
    url: str


@contextmanager
def launched_studio(parts, data: Path, context_length: int, model_id: str = "tiny-xverse-demo") -> Iterator[RunningStudio]:
    """A real Studio (tmp SQLite store in `data`, the model `parts` at `context_length`) served on a free port."""
    _require_chromium()
    from app.engine.transformers_engine import TransformersEngine
    from app.studio import Studio, StudioOptions
    from app.ui import build_app
    from serving import launch_for_test
    from story_store import Store

    store = Store(f"sqlite:///{data / 'inkstone.db'}")
    model, tokenizer = parts
    engine = TransformersEngine(model, tokenizer, model_id=model_id, context_length=context_length,
                                notes="demo model")
    studio = Studio(store, engine, StudioOptions(export_dir=data / "exports", demo=True, persist_interval_s=0.3))
    app = build_app(studio)
    url = launch_for_test(app)
    try:
        yield RunningStudio(studio, store, url)
    finally:
        studio.cancel_all()
        app.close()
        store.close()


@pytest.fixture(scope="module")
def running(demo_parts, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStudio]:
    """The studio as `--demo` runs it: the committed demo model."""
    with launched_studio(demo_parts, tmp_path_factory.mktemp("browser-data"), context_length=4096) as studio:
        yield studio


@pytest.fixture(scope="module")
def browser(running):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def page(browser, running):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(running.url, timeout=120_000)  # a loaded 2-core box can take >30 s
    page.wait_for_selector("#app-title", timeout=60_000)
    yield page
    context.close()


@pytest.fixture()
def shoot():
    """Save a full-page screenshot under artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def shoot(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot
