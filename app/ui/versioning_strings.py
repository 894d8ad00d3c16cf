"""UI strings of versioning: conflicts, field history, refused ids and texts, login throttling.

Merged into `app.ui.strings.STRINGS`; key -> (English, 中文) with `{name}` placeholders. Keys that
start with "err_" render a store/studio error code (`err_` + code) with the error's values.
"""

from __future__ import annotations

VERSIONING_STRINGS: dict[str, tuple[str, str]] = {
    "login_throttled": ("Too many failed logins from this address. Try again in {seconds} s.",
                        "此地址登录失败次数过多，请在 {seconds} 秒后重试。"),
    # conflicts
    "err_conflict.stale": (
        "⚠ Not saved: {what} was saved elsewhere at {when} ({who}) as version {current}; since your version "
        "{base} these changed: {fields} (+{added} / −{removed} characters). Your text is still here; open the "
        "item again and apply your edit.",
        "⚠ 未保存：{what} 已于 {when}（{who}）在别处保存为第 {current} 版；自你的第 {base} 版以来改动了：{fields}"
        "（+{added} / −{removed} 字）。你的文字仍在输入框中；请重新打开后再改一次。"),
    "err_conflict.unknown_version": (
        "⚠ Not saved: {what} has no version {base}; it is at version {current} (saved {when}). Open it again.",
        "⚠ 未保存：{what} 没有第 {base} 版，当前是第 {current} 版（{when} 保存）。请重新打开。"),
    "what_chapter": ("chapter {id}", "第 {id} 章（编号）"),
    "what_character": ("the character sheet", "人物小传"),
    "what_lore": ("the lore entry", "设定条目"),
    "what_project": ("the project", "作品"),
    "what_chat_message": ("the message", "这条消息"),
    # field groups
    "group_text": ("text", "正文"),
    "group_outline": ("outline", "大纲"),
    "group_summary": ("summary", "摘要"),
    "group_meta": ("title / status / POV", "标题 / 状态 / 视角"),
    "group_sheet": ("sheet", "小传"),
    "group_entry": ("entry", "条目"),
    "group_details": ("details", "基本信息"),
    "group_settings": ("settings", "设置"),
    # who saved
    "source_user": ("the writer", "作者"),
    "source_ai": ("the model", "模型"),
    "source_restore": ("a restore", "恢复"),
    "source_import": ("an import", "导入"),
    "source_original": ("as first written", "最初版本"),
    # history component
    "history": ("History", "历史版本"),
    "history_of_outline": ("History of the outline", "大纲的历史版本"),
    "history_of_summary": ("History of the summary", "摘要的历史版本"),
    "history_of_meta": ("History of title / status", "标题 / 状态的历史版本"),
    "history_of_sheet": ("History of this character", "人物小传的历史版本"),
    "history_of_entry": ("History of this entry", "设定条目的历史版本"),
    "history_of_details": ("History of title, synopsis, style guide", "书名、简介、文风指南的历史版本"),
    "history_of_settings": ("History of the sampling defaults", "采样默认值的历史版本"),
    "history_of_text": ("History of this message", "这条消息的历史版本"),
    "history_show": ("Show history", "查看历史"),
    "history_restore": ("Restore this version", "恢复此版本"),
    "history_empty": ("No earlier versions yet.", "还没有更早的版本。"),
    "history_pick": ("Choose a version first.", "请先选择一个版本。"),
    "history_restored": ("✓ Version {version} restored as version {current}.", "✓ 已恢复第 {version} 版，现为第 {current} 版。"),
    "history_entry": ("v{version} · {when} · {who}", "第 {version} 版 · {when} · {who}"),
    "save_project_details": ("Save title, synopsis and style guide", "保存书名、简介和文风指南"),
    "group_saved": ("✓ Saved (version {version}).", "✓ 已保存（第 {version} 版）。"),
    # what an id names (the "entity" of id.* refusals)
    "entity_project": ("project", "作品"),
    "entity_chapter": ("chapter", "章节"),
    "entity_character": ("character", "人物"),
    "entity_lore entry": ("lore entry", "设定条目"),
    "entity_chat": ("chat", "对话"),
    "entity_chat session": ("chat", "对话"),
    "entity_chat message": ("chat message", "消息"),
    "entity_chat_message": ("chat message", "消息"),
    "entity_passage": ("passage", "段落"),
    "entity_branch": ("branch", "分支"),
    "entity_revision": ("revision", "修订版本"),
    "entity_field revision": ("version", "历史版本"),
    "entity_item": ("item", "条目"),
    # refused input (store / studio error codes)
    "err_id.not_whole_number": ("A {entity} id must be a whole number; got {value}.", "{entity}编号必须是整数，收到的是 {value}。"),
    "err_id.out_of_range": ("A {entity} id must be between 1 and {high}; got {value}.", "{entity}编号必须在 1 到 {high} 之间，收到的是 {value}。"),
    "err_number.not_whole_number": ("{field} must be a whole number; got {value}.", "{field} 必须是整数，收到的是 {value}。"),
    "err_number.out_of_range": ("{field} must be between {low} and {high}; got {value}.", "{field} 必须在 {low} 到 {high} 之间，收到的是 {value}。"),
    "err_text.not_text": ("{field} must be text.", "{field} 必须是文字。"),
    "err_text.too_long": ("{field} is too long: {length} characters (the limit is {limit}). Nothing was changed.",
                          "{field} 太长：{length} 字（上限 {limit}）。没有任何改动。"),
    "err_text.nul": ("{field} contains a NUL character (position {position}); nothing was changed.",
                     "{field} 含有空字符（第 {position} 位），没有任何改动。"),
    "err_text.surrogate": ("{field} contains a broken character (a lone surrogate at position {position}); "
                           "nothing was changed.", "{field} 含有损坏的字符（第 {position} 位的孤立代理码），没有任何改动。"),
    "err_version.one_group_per_save": ("One save changes one group of fields, not {groups}.", "一次保存只能修改一组字段，而不是 {groups}。"),
    "err_chat.message_streaming": ("That message is still being written; stop it before editing.",
                                   "这条消息仍在生成中，请先停止再编辑。"),
}
