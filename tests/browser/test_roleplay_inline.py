"""Role-play actions on the message itself, in a real Chromium: an imported card's alternate greetings
are swipes of the first message (◀ ▶ under it), a reply is regenerated in place and swiped back, a
message branches a new path, the card's macros are filled in, and its portrait is each character
message's avatar."""

from __future__ import annotations

import base64
import io
import json

from PIL import Image, PngImagePlugin

from browser_steps import FAST_TOKENS, choose, open_tab, textbox, wait_until

CARD = {
    "spec": "chara_card_v2", "spec_version": "2.0",
    "data": {"name": "Aqua", "description": "{{char}} looks after {{user}}.", "personality": "cheerful",
             "scenario": "", "mes_example": "", "creator_notes": "", "tags": [], "extensions": {},
             "first_mes": "Oh, {{user}}! It's me, {{char}}.",
             "alternate_greetings": ["<USER>, you came back!", "{{Char}} waves at {{USER}}."],
             "system_prompt": "", "post_history_instructions": ""},
}


def _png_card() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("chara", base64.b64encode(json.dumps(CARD).encode()).decode())
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 40, 90)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _action(page, label: str, message: int):
    """The inline action `label` under the `message`-th character message (0-based)."""
    return page.locator("#chatbot .message-buttons-left").nth(message).get_by_role("button", name=label, exact=True)


def _position(page) -> str:
    return page.locator("#alt-position").inner_text().strip()


def test_swipe_regenerate_and_branch_on_the_message_itself(page, running, shoot):
    studio = running.studio
    project = studio.library.create_project("Goddess Inn", language="en")
    studio.library.update_project(project.id, settings={"max_new_tokens": FAST_TOKENS})
    studio.exchange.import_character_card(project.id, "aqua.png", _png_card())
    page.reload()
    page.wait_for_selector("#app-title")
    choose(page, "project-picker", "Goddess Inn")
    open_tab(page, "Role-play")
    choose(page, "rp-character", "Aqua")
    textbox(page, "persona-name").fill("Kazuma")
    page.locator("#chat-start").click()
    page.locator("#chatbot").get_by_text("Oh, Kazuma! It's me, Aqua.").wait_for()  # macros filled in
    session = wait_until(lambda: studio.roleplay.list_chats(project.id), 20, "the chat")[0]
    avatar = page.locator("#chatbot .avatar-container img").first
    avatar.wait_for(timeout=30_000)  # the card's portrait beside the character's message
    assert "portrait" in (avatar.get_attribute("src") or "")

    _action(page, "Next ▶", 0).click()  # the card's first alternate greeting is the greeting's swipe
    page.locator("#chatbot").get_by_text("Kazuma, you came back!").wait_for()
    wait_until(lambda: _position(page) == "2/3", 30, "the swipe position")
    assert [m.text for m in studio.roleplay.chat_transcript(session.id)] == ["Kazuma, you came back!"]
    _action(page, "Next ▶", 0).click()  # again, on the swiped message: one step, not two
    page.locator("#chatbot").get_by_text("Aqua waves at Kazuma.").wait_for()
    wait_until(lambda: _position(page) == "3/3", 30, "the second swipe")
    _action(page, "◀ Previous", 0).click()
    wait_until(lambda: _position(page) == "2/3", 30, "the swipe back")

    textbox(page, "chat-input").fill("Where are we?")
    page.locator("#chat-send").click()
    wait_until(lambda: len(studio.roleplay.chat_transcript(session.id)) == 3 and _position(page) == "1/1", 60,
               "the reply")
    first = studio.roleplay.chat_transcript(session.id)
    assert first[0].text == "Kazuma, you came back!"  # each click moved exactly one step
    _action(page, "↻ Regenerate", 1).click()  # in place, under the reply
    wait_until(lambda: _position(page) == "2/2", 60, "the regenerated reply")
    assert studio.roleplay.chat_transcript(session.id)[-1].id != first[-1].id
    shoot(page, "06c-roleplay-inline-actions")
    _action(page, "◀ Previous", 1).click()
    wait_until(lambda: _position(page) == "1/2", 30, "the swipe back")
    assert studio.roleplay.chat_transcript(session.id)[-1].id == first[-1].id

    _action(page, "Branch from here", 0).click()  # a new path that ends at the greeting
    wait_until(lambda: [m.id for m in studio.roleplay.chat_transcript(session.id)] == [first[0].id], 30,
               "the branch")
    wait_until(lambda: page.locator("#chatbot .message-buttons-left").count() == 1, 30, "the branched chat shown")
