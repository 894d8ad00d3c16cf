"""UI strings of versioning: conflicts, field history, refused ids and texts, login throttling.

Merged into `app.ui.strings.STRINGS`; key -> (English, 中文) with `{name}` placeholders.
"""

from __future__ import annotations

VERSIONING_STRINGS: dict[str, tuple[str, str]] = {
    "login_throttled": ("Too many failed logins from this address. Try again in {seconds} s.",
                        "此地址登录失败次数过多，请在 {seconds} 秒后重试。"),
}
