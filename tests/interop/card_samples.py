"""Sample cards and lorebooks shaped like the files SillyTavern, chub and NovelAI write."""

from __future__ import annotations

import base64
import copy
import io
import json

from PIL import Image, PngImagePlugin

BOOK_ENTRY = {
    "keys": ["Axis", "/axis\\s+church/i"], "content": "The Axis Church worships the water goddess.",
    "extensions": {"position": 4, "depth": 2, "probability": 60, "useProbability": True, "selectiveLogic": 3,
                   "exclude_recursion": True, "display_index": 0, "vectorized": False, "custom_tool": {"x": [1]}},
    "enabled": True, "insertion_order": 10, "id": 5, "comment": "Axis Church", "selective": True,
    "secondary_keys": ["water", "goddess"], "constant": False, "position": "before_char", "name": "axis",
    "priority": 3,
}
V2_CARD = {
    "name": "Aqua", "description": "A goddess.", "personality": "loud", "first_mes": "Hello!", "avatar": "none",
    "mes_example": "<START>\n{{char}}: Hi", "scenario": "A tavern.", "create_date": "2024-1-1", "talkativeness": "0.5",
    "fav": False, "creatorcomment": "made for tests", "tags": ["goddess"],
    "spec": "chara_card_v2", "spec_version": "2.0",
    "data": {
        "name": "Aqua", "description": "A goddess.", "personality": "loud", "scenario": "A tavern.",
        "first_mes": "Hello!", "mes_example": "<START>\n{{char}}: Hi", "creator_notes": "NEVER-IN-PROMPT",
        "system_prompt": "Be Aqua.", "post_history_instructions": "Stay loud.",
        "alternate_greetings": ["Yo!", "Hey."], "tags": ["goddess"], "creator": "tester",
        "character_version": "1.2",
        "extensions": {"talkativeness": "0.5", "fav": False, "world": "Konosuba",
                       "depth_prompt": {"prompt": "x", "depth": 4, "role": "system"}, "unknown_app": {"k": [1, {}]}},
        "character_book": {"name": "Aqua's book", "scan_depth": 3, "token_budget": 500, "recursive_scanning": True,
                           "extensions": {"book_ext": 1}, "entries": [BOOK_ENTRY, {
                               "keys": ["Kazuma"], "content": "A shut-in.", "extensions": {}, "enabled": False,
                               "insertion_order": 100}]},
    },
}
V3_CARD = {
    "spec": "chara_card_v3", "spec_version": "3.0",
    "data": {
        **copy.deepcopy(V2_CARD["data"]), "nickname": "Aqua-sama", "group_only_greetings": ["All of you!"],
        "creator_notes_multilingual": {"ja": "メモ"}, "source": ["https://example.invalid/aqua"],
        "creation_date": 1700000000, "modification_date": 1700000500,
        "assets": [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}],
    },
}
WORLD_INFO = {
    "name": "Konosuba world",
    "entries": {
        "0": {"uid": 0, "key": ["Axel"], "keysecondary": [], "comment": "Axel town", "content": "A starter town.",
              "constant": False, "vectorized": False, "selective": True, "selectiveLogic": 0, "addMemo": True,
              "order": 100, "position": 0, "disable": False, "excludeRecursion": False, "preventRecursion": True,
              "delayUntilRecursion": False, "probability": 100, "useProbability": True, "depth": 4, "group": "",
              "groupOverride": False, "groupWeight": 100, "scanDepth": None, "caseSensitive": None,
              "matchWholeWords": None, "useGroupScoring": None, "automationId": "", "role": None, "sticky": 0,
              "cooldown": 0, "delay": 0, "displayIndex": 0},
        "1": {"uid": 1, "key": ["/demon\\s*king/i"], "keysecondary": ["army"], "comment": "Demon King",
              "content": "Rules the demons.", "constant": True, "selective": True, "selectiveLogic": 2,
              "order": 200, "position": 4, "disable": True, "probability": 40, "useProbability": True, "depth": 1,
              "scanDepth": 6, "caseSensitive": True, "matchWholeWords": True, "ignoreBudget": True},
    },
}
NOVELAI_BOOK = {
    "lorebookVersion": 5,
    "entries": [
        {"text": "The capital city.", "contextConfig": {"prefix": "", "suffix": "\n", "tokenBudget": 1,
                                                       "budgetPriority": 400, "insertionPosition": -1},
         "lastUpdatedAt": 1649000000000, "displayName": "Capital", "id": "a1b2", "keys": ["capital", "/royal\\s+city/i"],
         "searchRange": 1000, "enabled": True, "forceActivation": False, "keyRelative": False,
         "nonStoryActivatable": False, "category": "", "loreBiasGroups": []},
        {"text": "Always here.", "displayName": "Constant", "keys": [], "enabled": True, "forceActivation": True},
    ],
    "settings": {"orderByKeyLocations": False}, "categories": [],
}


def png_with_chunks(chunks: dict[str, str], size=(8, 8)) -> bytes:
    info = PngImagePlugin.PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def b64json(obj) -> str:
    return base64.b64encode(json.dumps(obj).encode("utf-8")).decode("ascii")
