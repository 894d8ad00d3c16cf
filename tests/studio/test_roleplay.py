"""Role-play: greeting, turns, regenerated alternatives, switching, editing and branching."""

from __future__ import annotations

import pytest

from app.studio import InvalidInput, Studio
from studio_helpers import drain, new_project


def _chat(studio: Studio):
    project = new_project(studio)
    character = studio.library.create_character(project.id, "沈砚秋", greeting="你终于来了。", personality="冷静")
    return project, character, studio.roleplay.start_chat(project.id, character.id, persona_name="林凡")


@pytest.mark.slow
def test_greeting_turn_regenerate_switch_edit_and_branch(studio: Studio, store):
    project, character, chat = _chat(studio)
    (greeting,) = studio.roleplay.chat_transcript(chat.id)
    assert (greeting.role, greeting.speaker, greeting.text) == ("character", "沈砚秋", "你终于来了。")
    assert [c.id for c in studio.roleplay.list_chats(project.id)] == [chat.id]

    studio.library.create_lore_entry(project.id, title="青云门", content="天下第一大派。", keys=["青云"])
    updates, final = drain(studio.roleplay.chat_turn(chat.id, "我从青云门来。", seed=1))
    fed = {item.label for item in studio.writing.last_context().items("included")}
    assert {"沈砚秋", "青云门"} <= fed  # the character sheet and the triggered lore feed the prompt
    assert "我从青云门来。" in studio.writing.last_context().render()
    assert final.message_id is not None and all(u.message_id == final.message_id for u in updates)
    path = studio.roleplay.chat_transcript(chat.id)
    assert [(m.role, m.speaker) for m in path] == [("character", "沈砚秋"), ("user", "林凡"), ("character", "沈砚秋")]
    first_reply = path[-1]
    assert first_reply.id == final.message_id and first_reply.status == "done" and first_reply.seed == 1
    assert first_reply.text == final.texts[0].strip()

    _, again = drain(studio.roleplay.regenerate_reply(first_reply.id, seed=2))
    assert studio.roleplay.chat_transcript(chat.id)[-1].id == again.message_id
    assert studio.roleplay.alternative_position(again.message_id) == (2, 2)
    back = studio.roleplay.switch_alternative(again.message_id, -1)
    assert back[-1].id == first_reply.id and studio.roleplay.alternative_position(first_reply.id) == (1, 2)
    assert studio.roleplay.switch_alternative(first_reply.id, -1)[-1].id == first_reply.id  # stays at the first

    edited = studio.roleplay.edit_message(first_reply.id, "改写后的回答。")
    assert edited.text == "改写后的回答。" and studio.roleplay.chat_transcript(chat.id)[-1].text == "改写后的回答。"

    assert [m.id for m in studio.roleplay.branch_chat_from(greeting.id)] == [greeting.id]
    drain(studio.roleplay.chat_turn(chat.id, "换个说法。", seed=3))
    branched = studio.roleplay.chat_transcript(chat.id)
    assert branched[0].id == greeting.id and branched[1].text == "换个说法。" and len(branched) == 3
    assert studio.roleplay.alternative_position(branched[1].id) == (2, 2)  # two user turns answer the greeting
    assert len(store.list_chat_messages(chat.id)) == 6  # nothing was lost on the way

    studio.roleplay.delete_chat(chat.id)
    assert studio.roleplay.list_chats(project.id) == [] and [t.kind for t in studio.library.list_trash(project.id)] == ["chat"]
    studio.library.restore_item("chat", chat.id)
    assert [c.id for c in studio.roleplay.list_chats(project.id)] == [chat.id]


def test_closing_a_reply_keeps_what_streamed(studio: Studio, store):
    project, character, chat = _chat(studio)
    studio.library.update_project(project.id, settings={"max_new_tokens": {"roleplay": 400}})
    stream = studio.roleplay.chat_turn(chat.id, "说说你的过去。", seed=4).updates()
    seen = next(u for u in stream if u.texts[0].strip())
    stream.close()
    reply = store.get_chat_message(seen.message_id)
    assert reply.status == "cancelled" and reply.text.startswith(seen.texts[0].strip()[:1])
    assert len(reply.text) >= len(seen.texts[0].strip())


def test_bad_chat_requests(studio: Studio):
    project, character, chat = _chat(studio)
    other = new_project(studio, title="别的书")
    with pytest.raises(InvalidInput):
        studio.roleplay.start_chat(other.id, character.id)
    with pytest.raises(InvalidInput):
        studio.roleplay.chat_turn(chat.id, "   ")
    (greeting,) = studio.roleplay.chat_transcript(chat.id)
    drain(studio.roleplay.chat_turn(chat.id, "你好", seed=1))
    user_message = studio.roleplay.chat_transcript(chat.id)[1]
    with pytest.raises(InvalidInput):
        studio.roleplay.regenerate_reply(user_message.id)
    with pytest.raises(InvalidInput):
        studio.roleplay.edit_message(greeting.id, "")


def test_persona_description_reaches_the_prompt(studio: Studio):
    project = new_project(studio)
    character = studio.library.create_character(project.id, "沈砚秋", greeting="你终于来了。")
    chat = studio.roleplay.start_chat(project.id, character.id, persona_name="林凡", persona_description="北方来的独臂剑客")
    studio.roleplay.chat_turn(chat.id, "我来了。", seed=1).abandon()  # the prompt is built when the turn is asked for
    assert "北方来的独臂剑客" in studio.writing.last_context().render()


def test_lore_draw_of_a_chat_follows_the_request_seed(studio: Studio):
    from app.memory.lore import probability_passes

    project, _, chat = _chat(studio)
    entry = studio.library.create_lore_entry(project.id, title="青云门", content="天下第一大派。", keys=["青云"],
                                     probability=50)
    passing = next(s for s in range(1, 200) if probability_passes(entry, s))
    failing = next(s for s in range(1, 200) if not probability_passes(entry, s))
    included = {}
    for seed in (passing, failing):
        studio.roleplay.chat_turn(chat.id, "我从青云门来。", seed=seed).abandon()
        included[seed] = "青云门" in {item.label for item in studio.writing.last_context().items("included")}
    assert included == {passing: True, failing: False}


CARD = {
    "spec": "chara_card_v2", "spec_version": "2.0",
    "data": {"name": "Aqua", "description": "{{char}} is a goddess who looks after {{user}}.",
             "personality": "cheerful", "scenario": "", "mes_example": "{{user}}: hi\n{{char}}: Hello!",
             "first_mes": "Oh, {{user}}! It's me, {{char}}.", "creator_notes": "",
             "alternate_greetings": ["<USER>, you came back!", "{{Char}} waves at {{USER}}."],
             "system_prompt": "Stay as {{char}}; never speak for {{user}}.",
             "post_history_instructions": "Answer {{user}} in one short line.", "tags": [], "extensions": {}},
}


def test_a_cards_macros_greetings_and_instructions_are_used_as_sillytavern_does(studio: Studio):
    import json

    project = new_project(studio, language="en", title="Konosuba")
    aqua = studio.exchange.import_character_card(project.id, "aqua.json", json.dumps(CARD).encode())
    chat = studio.roleplay.start_chat(project.id, aqua.id, persona_name="Kazuma")
    (greeting,) = studio.roleplay.chat_transcript(chat.id)
    assert greeting.text == "Oh, Kazuma! It's me, Aqua."
    assert studio.roleplay.alternative_position(greeting.id) == (1, 3)  # alternate greetings are its swipes
    swiped = studio.roleplay.switch_alternative(greeting.id, 1)
    assert [m.text for m in swiped] == ["Kazuma, you came back!"]
    assert [m.text for m in studio.roleplay.switch_alternative(swiped[0].id, 1)] == ["Aqua waves at Kazuma."]

    drain(studio.roleplay.chat_turn(chat.id, "Where are we?", seed=2))
    prompt = studio.writing.last_context().render()
    assert "Stay as Aqua; never speak for Kazuma." in prompt  # the card's system prompt, filled in
    assert "Aqua is a goddess who looks after Kazuma." in prompt and "Kazuma: hi\nAqua: Hello!" in prompt
    history, note = prompt.index("Where are we?"), prompt.index("Answer Kazuma in one short line.")
    assert history < note < prompt.rindex("Aqua:")  # post-history instructions follow the chat, as in ST
    assert "{{" not in prompt and "<USER>" not in prompt


def test_chat_speakers_carry_the_cards_portrait(studio: Studio):
    import base64
    import io
    import json

    from PIL import Image, PngImagePlugin

    project = new_project(studio, language="en", title="Portraits")
    info = PngImagePlugin.PngInfo()
    info.add_text("chara", base64.b64encode(json.dumps(CARD).encode()).decode())
    out = io.BytesIO()
    Image.new("RGB", (12, 9), (200, 40, 90)).save(out, format="PNG", pnginfo=info)
    aqua = studio.exchange.import_character_card(project.id, "aqua.png", out.getvalue())
    chat = studio.roleplay.start_chat(project.id, aqua.id, persona_name="Kazuma")
    who = studio.roleplay.chat_speakers(chat.id)
    assert (who.character, who.user) == ("Aqua", "Kazuma")
    shown = Image.open(io.BytesIO(who.portrait_png))
    assert shown.size == (12, 9) and shown.convert("RGB").getpixel((3, 3)) == (200, 40, 90)
    plain = studio.library.create_character(project.id, "Darkness", greeting="Hm.")
    other = studio.roleplay.start_chat(project.id, plain.id)
    assert studio.roleplay.chat_speakers(other.id).portrait_png is None  # no card, no portrait
    assert studio.roleplay.chat_speakers(other.id).user  # the template's own word for the writer
    studio.library.delete_character(plain.id)
    assert studio.roleplay.chat_speakers(other.id).character == "Darkness"  # kept from the chat
