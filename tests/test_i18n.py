"""Russian, English and Georgian: complete catalogues, the right language, money as written."""

from __future__ import annotations

import json
import re
import sqlite3

import httpx
import pytest

from checkout.pages.i18n import LANGUAGES, MESSAGES, format_money
from tests.buyer import (
    add_merchant,
    merchant_cli,
    new_payment,
    path_of,
    start,
    wait_for_link,
)
from tests.server import LiveServer


def test_every_catalogue_has_every_text_with_its_placeholders() -> None:
    keys = set(MESSAGES["en"])
    assert len(keys) > 30
    for lang in LANGUAGES:
        assert set(MESSAGES[lang]) == keys, lang
        for key, text in MESSAGES[lang].items():
            assert text.strip(), (lang, key)
            assert re.findall(r"{\w+}", text) == re.findall(r"{\w+}", MESSAGES["en"][key])


@pytest.mark.parametrize(("amount", "currency", "lang", "written"), [
    (1_234_56, "RUB", "ru", "1\u00a0234,56\u00a0₽"),
    (1_234_56, "RUB", "en", "₽1,234.56"),
    (12_00, "GEL", "ka", "12,00\u00a0₾"),
    (9_99, "USD", "en", "$9.99"),
    (9_99, "EUR", "ka", "9,99\u00a0€"),
])
def test_money_is_written_as_the_buyers_locale_writes_it(amount: int, currency: str,
                                                          lang: str, written: str) -> None:
    assert format_money(amount, currency, lang) == written


def test_the_language_comes_from_the_link_the_browser_or_the_merchant(
        server: LiveServer) -> None:
    headers = add_merchant(server.settings.db_url, "mer_tbc", "sk_test_tbc",
                           return_origins='["http://127.0.0.1:*"]', acquirer="tbc")
    with httpx.Client(base_url=server.url, headers=headers, timeout=15) as api, \
            httpx.Client(base_url=server.url, timeout=15) as buyer:
        payment = new_payment(api, server.url, currency="GEL", amount=12_00)
        page = path_of(payment["checkout_url"])
        georgian = buyer.get(page + "?lang=ka").text
        assert 'lang="ka"' in georgian and MESSAGES["ka"]["pay_to"] in georgian
        assert "12,00\u00a0₾" in georgian
        assert 'lang="en"' in buyer.get(page, headers={"Accept-Language": "ka;q=0.2, en"}).text
        assert 'lang="ru"' in buyer.get(page, headers={"Accept-Language": "de"}).text
        merchant_cli(server, "set-language", "mer_tbc", "ka")
        assert 'lang="ka"' in buyer.get(page, headers={"Accept-Language": "de"}).text
        # The buyer's language goes to TBC's page too.
        start(buyer, payment["checkout_url"])
        wait_for_link(buyer, payment["checkout_url"])
    with sqlite3.connect(server.settings.data_dir / "sandbox" / "tbc.db") as db:
        [doc] = [json.loads(r[0]) for r in db.execute("SELECT doc FROM docs WHERE kind='payment'")]
    assert doc["language"] == "KA"
