"""Which language a page opens in: forced, then ?lang, then the stored choice, then Accept-Language."""

from __future__ import annotations

import pytest

from app.ui.language import from_accept_language, language_for


@pytest.mark.parametrize("header,expected", [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("zh-TW", "zh"), ("en-US,en;q=0.9,zh;q=0.8", "en"),
    ("fr-FR,fr;q=0.9,zh;q=0.5", "zh"), ("en;q=0.4,zh-HK;q=0.7", "zh"), ("fr, de", None), ("", None),
    (None, None), ("zh;q=0, en", "en"), ("zh;q=bad, en", "en"),
])
def test_accept_language(header, expected):
    assert from_accept_language(header) == expected


class Page:
    """What language_for reads from a Gradio request: its headers and query parameters."""

    def __init__(self, accept: str = "", lang: str = "") -> None:
        self.headers = {"accept-language": accept}
        self.query_params = {"lang": lang} if lang else {}


def test_the_order_forced_address_stored_browser(tmp_path):
    from app.engine.unavailable import UnavailableEngine
    from app.studio import Studio, StudioOptions
    from app.ui.common import LiveGenerations, Shell, Translator
    from story_store import Store

    def shell_for(store, forced: str = "") -> Shell:
        engine = UnavailableEngine("no model in this test")
        studio = Studio(store, engine, StudioOptions(export_dir=tmp_path / "exports", ui_language=forced))
        return Shell(studio=studio, tr=Translator(forced or "en"), live=LiveGenerations())

    with Store(f"sqlite:///{tmp_path / 'inkstone.db'}") as store:
        shell = shell_for(store)
        assert language_for(shell, Page("zh-CN,zh;q=0.9")) == "zh"  # first visit: the browser decides
        assert language_for(shell, Page("en-GB")) == "en"
        assert language_for(shell, Page("fr")) == "en"
        assert language_for(shell, Page("zh-CN", lang="en")) == "en"  # ?lang= for that page
        shell.studio.preferences.set_language("en")
        assert language_for(shell, Page("zh-CN")) == "en"  # the writer's choice beats the browser
        assert language_for(shell_for(store, forced="zh"), Page("en-GB", lang="en")) == "zh"  # --ui-language
