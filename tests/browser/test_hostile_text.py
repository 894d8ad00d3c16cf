"""HTML in titles, summaries, card greetings and chat messages is shown as text: in a real Chromium no
element is created from it and nothing requests the beacon URL it points at (tables, chat, toasts,
Markdown views)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest
from browser_steps import choose, open_tab, wait_until
from serving import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class _Beacon(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        _Beacon.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def beacon() -> Iterator[str]:
    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Beacon)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.shutdown()


def payload(beacon: str, where: str) -> str:
    return (f'<img src="http://{beacon}/{where}-img" class="xss"><a href="http://{beacon}/{where}-a" class="xss">a</a>'
            f"![p](http://{beacon}/{where}-md-img) [l](http://{beacon}/{where}-md-link) <b class=xss>bold</b> "
            f"http://{beacon}/{where}-bare &amp; {where}")


def _no_payload_elements(page, beacon: str) -> None:
    found = page.evaluate(
        """b => [...document.querySelectorAll('img, a, b.xss, .xss')]
                 .filter(e => e.classList.contains('xss') || (e.src || e.href || '').includes(b))
                 .map(e => e.outerHTML)""", beacon)
    assert found == [], found


def test_hostile_text_creates_no_elements_and_no_requests(page, running, beacon):
    studio = running.studio
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if beacon in r.url else None)
    title = payload(beacon, "project")
    project = studio.library.create_project(title, language="en")
    chapter = studio.chapters.add_chapter(project.id, title=payload(beacon, "chapter"), outline="o")
    studio.chapters.update_chapter_meta(chapter.id, summary=payload(beacon, "summary"))
    character = studio.library.create_character(project.id, name="Host", greeting=payload(beacon, "greeting"))
    studio.chapters.save_chapter(chapter.id, "Host walks in.", chapter.version)
    chat = studio.roleplay.start_chat(project.id, character.id)
    running.store.add_chat_message(chat.id, studio.roleplay.chat_transcript(chat.id)[-1].id, "user", "me",
                                   payload(beacon, "message"))

    page.reload()
    page.wait_for_selector("#app-title", timeout=60_000)
    page.wait_for_function("() => document.querySelector('#projects-table').innerText.includes('project-img')")
    assert "<img src=" in page.locator("#projects-table").inner_text()  # shown, as text
    choose(page, "project-picker", "<img")
    open_tab(page, "Write")
    page.wait_for_function("() => document.querySelector('#chapters-table').innerText.includes('chapter-img')")
    open_tab(page, "Summaries")
    page.wait_for_function("() => document.querySelector('#summaries-table').innerText.includes('summary-img')")
    open_tab(page, "Characters")
    choose(page, "character-picker", "Host")
    page.wait_for_function("() => document.body.innerText.includes('Mentioned')")
    open_tab(page, "Role-play")
    choose(page, "chat-sessions", "·")
    page.locator("#chatbot").get_by_text("greeting-img", exact=False).first.wait_for()
    page.locator("#chatbot").get_by_text("message-img", exact=False).first.wait_for()
    assert "<img src=" in page.locator("#chatbot").inner_text()

    toast = f'<img src="http://{beacon}/toast-img" class="xss">'
    picker = page.locator("#project-picker input")
    picker.fill(toast)
    picker.press("Enter")
    page.get_by_test_id("toast-body").first.wait_for()
    assert "toast-img" in page.get_by_test_id("toast-body").first.inner_text()

    page.wait_for_timeout(1500)  # let any (wrongly) created image start its request
    _no_payload_elements(page, beacon)
    assert requests == [] and _Beacon.hits == []
