"""The interface strings: both languages for every key, placeholders that agree, and a language switch
that relabels every registered component (checked on the built Blocks, no server needed)."""

from __future__ import annotations

import re
import string

from app.ui.strings import LANGUAGES, STRINGS, t


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_key_has_both_languages_with_the_same_placeholders():
    bad = [key for key, (english, chinese) in STRINGS.items()
           if not english.strip() or not chinese.strip() or placeholders(english) != placeholders(chinese)]
    assert bad == []


def test_chinese_strings_are_chinese_where_they_differ():
    differing = [zh for en, zh in STRINGS.values() if en != zh]
    assert all(re.search(r"[\u4e00-\u9fff]", zh) for zh in differing)


def test_t_fills_placeholders_and_falls_back_to_english():
    assert t("zh", "saved_version", version=3) == "✓ 已保存为版本 3。"
    assert t("fr", "saved_version", version=3) == t("en", "saved_version", version=3)
    assert LANGUAGES == ("en", "zh")


def test_every_string_key_used_in_the_ui_exists():
    from pathlib import Path

    ui_dir = Path(__file__).resolve().parents[2] / "app" / "ui"
    source = "\n".join(p.read_text("utf-8") for p in ui_dir.rglob("*.py"))  # the desk package too
    used = set(re.findall(r"""\btr(?:\.(?:make|button|markdown|tab))?\((?:[\w.]+, )?["']([a-z0-9_]+)["']""", source))
    assert used and not used - set(STRINGS)


def test_language_switch_relabels_every_registered_component():
    from app.ui.common import Translator

    import gradio as gr

    tr = Translator("en")
    with gr.Blocks():
        box = tr.make(gr.Textbox, "editor")
        button = tr.button("save_chapter")
    assert (box.label, button.value) == ("Chapter text", "Save")
    updates = tr.relabel("zh")
    assert updates == [{"__type__": "update", "label": "正文"}, {"__type__": "update", "value": "保存"}]
    assert tr("saved_version", version=2) == "✓ 已保存为版本 2。"  # messages follow the choice too


def test_polish_presets_offered_are_the_templates_presets():
    from app.studio import polish_presets
    from app.ui.polish import preset_choices

    for language in LANGUAGES:
        offered = preset_choices(language)
        assert [name for _, name in offered] == list(polish_presets(language)) and len(offered) >= 2
        assert all(label.strip() for label, _ in offered)
