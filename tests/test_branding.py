"""The merchant's name, logo and accent colour on its checkout, readable by contrast rules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from checkout.domain.branding import BrandError, contrast, text_on
from tests.buyer import clients, merchant_cli, new_payment, path_of
from tests.server import LiveServer


@pytest.mark.parametrize(("accent", "text"), [("#ffdd2d", "#000000"), ("#0b3d91", "#ffffff"),
                                              ("#000000", "#ffffff")])
def test_button_text_is_black_or_white_whichever_reads(accent: str, text: str) -> None:
    assert text_on(accent) == text and contrast(accent, text) >= 4.5


@pytest.mark.parametrize("accent", ["red", "#12345", "#gggggg", "777777"])
def test_a_malformed_accent_is_refused(accent: str) -> None:
    with pytest.raises(BrandError):
        text_on(accent)


def test_every_grey_gets_a_text_colour_it_reads_under() -> None:
    for level in range(256):
        grey = f"#{level:02x}{level:02x}{level:02x}"
        assert contrast(grey, text_on(grey)) >= 4.5, grey


def test_a_branded_checkout_shows_the_logo_and_the_accent(server: LiveServer) -> None:
    logo = "https://cdn.tea.example/logo.svg"
    merchant_cli(server, "brand", "mer_demo", "--logo", logo, "--accent", "#0B3D91")
    with clients(server) as (api, buyer):
        payment = new_payment(api, server.url)
        page = buyer.get(path_of(payment["checkout_url"]))
        assert f'<img class="logo" src="{logo}" alt="Demo shop"' in page.text
        assert "img-src 'self' data: https://cdn.tea.example;" in \
            page.headers["content-security-policy"]
        css_path = '/brand/accent/0b3d91.css'
        assert css_path in page.text
        css = buyer.get(css_path)
        assert css.text == ":root { --accent: #0b3d91; --on-accent: #ffffff; }"
        assert css.headers["content-type"].startswith("text/css")
    # The command refuses what is not a colour, and changes nothing.
    out = subprocess.run([sys.executable, "-m", "checkout.cli", "merchant", "brand",
                          "mer_demo", "--accent", "#77"], capture_output=True, text=True,
                         env={"DATABASE_URL": server.settings.db_url, "PATH": "/usr/bin:/bin",
                              "CHECKOUT_DATA_DIR": str(server.settings.data_dir)})
    assert out.returncode != 0 and "#rrggbb" in out.stderr
    listed = {m["id"]: m for m in merchant_cli(server, "list")}
    assert listed["mer_demo"]["accent_color"] == "#0b3d91"
