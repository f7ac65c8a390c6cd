"""Buyers inside Telegram, Instagram, VK…: told at once, and given ways out."""

from __future__ import annotations

import pytest

from checkout.web.buyer.device import in_app_browser
from tests.buyer import TELEGRAM_ANDROID, clients, new_payment, open_page, start, wait_for_link
from tests.server import LiveServer

INSTAGRAM_IOS = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Mobile/15E148 Instagram 330.0.0.40.92 (iPhone15,2; "
                 "iOS 17_4; ru_RU; ru; scale=3.00; 1179x2556; 602471144)")
VK_ANDROID = ("Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/123.0 Mobile Safari/537.36 VKClient/8.70")
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")


@pytest.mark.parametrize(("ua", "app"), [(TELEGRAM_ANDROID, "telegram"),
                                         (INSTAGRAM_IOS, "instagram"), (VK_ANDROID, "vk"),
                                         (SAFARI, "")])
def test_in_app_browsers_are_recognised(ua: str, app: str) -> None:
    assert in_app_browser(ua) == app


def test_inside_telegram_on_android_the_page_offers_the_browser_and_the_link(
        server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        payment = new_payment(api, server.url)
        start(buyer, payment["checkout_url"], TELEGRAM_ANDROID)
        wait_for_link(buyer, payment["checkout_url"], TELEGRAM_ANDROID)
        html = open_page(buyer, payment["checkout_url"], TELEGRAM_ANDROID)
        assert 'data-in-app="telegram"' in html
        page_url = payment["checkout_url"]
        intent = "intent://" + page_url.split("://", 1)[1] + "#Intent;scheme=http;end"
        assert f'href="{intent}"' in html
        assert f'data-copy="{page_url}"' in html
        assert 'data-action="open-app"' in html  # the app link is still there to try


def test_inside_instagram_on_ios_there_is_no_intent_but_the_link_to_copy(
        server: LiveServer) -> None:
    with clients(server) as (api, buyer):
        payment = new_payment(api, server.url)
        start(buyer, payment["checkout_url"], INSTAGRAM_IOS)
        wait_for_link(buyer, payment["checkout_url"], INSTAGRAM_IOS)
        html = open_page(buyer, payment["checkout_url"], INSTAGRAM_IOS)
        assert 'data-in-app="instagram"' in html and "intent://" not in html
        assert 'data-action="copy-link"' in html
        plain = open_page(buyer, payment["checkout_url"], SAFARI)
        assert "data-in-app" not in plain and "data-app-fallback hidden" in plain
