"""User-Agent → the platform we tell the acquirer (and the page's primary path)."""

from __future__ import annotations

import pytest

from checkout.acquirers.bank131.platform import platform_details
from checkout.web.buyer.device import platform_for
from tests.buyer import ANDROID, IPHONE, WINDOWS_CHROME

IPAD = ("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Mobile/15E148 Safari/604.1")
MAC_SAFARI = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, "
              "like Gecko) Version/17.4 Safari/605.1.15")
LINUX_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
EDGE = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51")
MIUI = ("Mozilla/5.0 (Linux; U; Android 13; ru-ru; 2201117TY Build/TKQ1.221114.001) "
        "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/112.0.5615.136 Mobile "
        "Safari/537.36 XiaoMi/MiuiBrowser/14.6.0-gn")
TELEGRAM_ANDROID = ("Mozilla/5.0 (Linux; Android 12; SM-A525F Build/SP1A.210812.016; wv) "
                    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 "
                    "Mobile Safari/537.36 Telegram-Android/10.11.1")
INSTAGRAM_IOS = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Mobile/15E148 Instagram 330.0.0.40.92")
WINDOWS_TABLET = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; Touch) AppleWebKit/537.36 "
                  "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")


@pytest.mark.parametrize(("ua", "expected"), [
    (IPHONE, ("mobile", "ios", "chrome")),  # Safari: the closest accepted browser value
    (ANDROID, ("mobile", "android", "chrome")),
    (IPAD, ("mobile", "ios", "chrome")),
    (MIUI, ("mobile", "android", "miui")),
    (TELEGRAM_ANDROID, ("mobile", "android", "chrome")),
    (INSTAGRAM_IOS, ("mobile", "ios", "chrome")),
    (WINDOWS_CHROME, ("desktop", "windows", "chrome")),
    (EDGE, ("desktop", "windows", "microsoft edge")),
    (MAC_SAFARI, ("desktop", "linux", "chrome")),
    (LINUX_FIREFOX, ("desktop", "linux", "firefox")),
    (WINDOWS_TABLET, ("desktop", "windows", "chrome")),
    ("", ("desktop", "windows", "chrome")),
    ("TelegramBot (like TwitterBot)", ("desktop", "windows", "chrome")),
])
def test_user_agent_maps_to_the_acquirers_platform_values(ua: str,
                                                          expected: tuple[str, ...]) -> None:
    p = platform_details(platform_for(ua))
    assert (p["type"], p["os"], p["browser"]) == expected


def test_client_hint_mobile_wins_for_a_reduced_user_agent() -> None:
    reduced = ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/124.0.0.0 Mobile Safari/537.36")
    assert platform_for(reduced, "?1").type == "mobile"
    assert platform_for("Mozilla/5.0 (X11; Linux x86_64) Chrome/124.0", "?1").type == "mobile"
