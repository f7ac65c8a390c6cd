"""The buyer's device, read from the User-Agent (and Sec-CH-UA-Mobile), as a `Platform`.

"Mobile" means a device that can run the T-Bank app: iOS, iPadOS or Android, whatever browser
or app wraps the page. Detection is a hint: the page always offers the other path too.
"""

from __future__ import annotations

from functools import lru_cache

from user_agents import parse

from checkout.acquirers.base import Platform

MOBILE_OS = {"iOS": "ios", "iPadOS": "ios", "Android": "android"}

# The device in our own words; each acquirer's package says it in its own (Bank 131's
# `platform_details`, for one).
OS_VALUE = {
    **MOBILE_OS, "Windows": "windows", "Mac OS X": "macos", "Linux": "linux",
    "Ubuntu": "linux", "Chrome OS": "chromeos",
}
BROWSER_VALUE = {
    "Chrome": "chrome", "Chrome Mobile": "chrome", "Chrome Mobile iOS": "chrome",
    "Chromium": "chrome", "Firefox": "firefox", "Firefox Mobile": "firefox",
    "Firefox iOS": "firefox", "Edge": "edge", "Edge Mobile": "edge", "Safari": "safari",
    "Mobile Safari": "safari", "Yandex Browser": "yandex", "Opera": "opera",
    "MiuiBrowser": "miui", "Jivo Mobile": "jivo",
}


# Real User-Agents are a few hundred characters; the caches key on at most this much of one,
# so a client sending huge or ever-new strings cannot grow them past their size.
UA_KEY_LENGTH = 512


def platform_for(user_agent: str, ch_mobile: str = "") -> Platform:
    """Parsing a User-Agent costs ~0.5 ms; the same strings repeat, so the answer is cached."""
    return _platform_for(user_agent[:UA_KEY_LENGTH], ch_mobile[:8])


@lru_cache(maxsize=4096)
def _platform_for(user_agent: str, ch_mobile: str) -> Platform:
    ua = parse(user_agent)
    family = ua.os.family
    mobile = family in MOBILE_OS or (ua.is_mobile or ua.is_tablet) and family not in (
        "Windows", "Linux", "Chrome OS", "Mac OS X") or ch_mobile.strip() == "?1"
    return Platform(type="mobile" if mobile else "desktop", os=OS_VALUE.get(family, ""),
                    browser=BROWSER_VALUE.get(ua.browser.family, ""))


def platform_as(platform: Platform, kind: str) -> Platform:
    """The buyer's device, described as the other kind (the "wrong device?" switch); its
    acquirer's package picks an OS value it accepts for that kind."""
    return Platform(type=kind, os=platform.os, browser=platform.browser)


# Apps that open links in their own browser, by a mark in their User-Agent. From inside them a
# link to the T-Bank app often does nothing (iOS) or asks first (Android).
IN_APP_MARKS = (
    ("Telegram", "telegram"), ("WhatsApp", "whatsapp"), ("Instagram", "instagram"),
    ("VKClient", "vk"), ("com.vkontakte", "vk"), ("FBAN/", "facebook"), ("FBAV/", "facebook"),
    ("FB_IAB", "facebook"), ("YaApp_", "yandex"), ("YaSearchBrowser", "yandex"),
    ("YandexSearch", "yandex"),
)


def in_app_browser(user_agent: str) -> str:
    """Which app's built-in browser this is ("telegram", "vk", …), or "" for a real browser."""
    return _in_app_browser(user_agent[:UA_KEY_LENGTH])


@lru_cache(maxsize=4096)
def _in_app_browser(user_agent: str) -> str:
    for mark, app in IN_APP_MARKS:
        if mark in user_agent:
            return app
    return ""
