"""The buyer's device in Bank 131's words: `payment_options.platform_details`.

Bank 131 accepts a few `os` and `browser` values and fixes the link's kind (app deep link or
QR) by `type`; everything else maps to the closest accepted value.
"""

from __future__ import annotations

from checkout.acquirers.base import Platform

OS_VALUE = {"ios": "ios", "android": "android", "windows": "windows", "macos": "linux",
            "linux": "linux", "chromeos": "linux"}
BROWSER_VALUE = {"chrome": "chrome", "firefox": "firefox", "edge": "microsoft edge",
                 "miui": "miui", "jivo": "jivo mobile"}
MOBILE_OS = ("ios", "android")
DEFAULT_OS = {"mobile": "android", "desktop": "windows"}
DEFAULT_BROWSER = "chrome"  # Safari, Yandex, Opera, in-app browsers: closest accepted value
_ACCEPTED_BROWSERS = frozenset(BROWSER_VALUE.values())


def platform_details(platform: Platform) -> dict[str, str]:
    """`platform` as Bank 131 takes it. Values it accepts already (attempts stored before we
    kept the device in our own words) pass through unchanged."""
    os_value = OS_VALUE.get(platform.os, "")
    if (os_value in MOBILE_OS) != (platform.type == "mobile") or not os_value:
        os_value = DEFAULT_OS.get(platform.type, DEFAULT_OS["desktop"])
    browser = BROWSER_VALUE.get(platform.browser) or (
        platform.browser if platform.browser in _ACCEPTED_BROWSERS else DEFAULT_BROWSER)
    return {"type": platform.type, "os": os_value, "browser": browser}
