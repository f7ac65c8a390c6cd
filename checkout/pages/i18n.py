"""The buyer's pages in Russian, English and Georgian.

Texts live in gettext catalogues (`checkout/pages/locales/<lang>.po`, one msgid per text key,
the English source in a translator's comment), read once with Babel. The language is chosen
by `?lang=`, then `Accept-Language`, then the merchant's default, then Russian.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Final

from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from starlette.requests import Request

from checkout.domain.money import CURRENCIES

LANGUAGES: Final = ("ru", "en", "ka")
DEFAULT: Final = "ru"
LOCALES: Final = Path(__file__).parent / "locales"
# CLDR spells some currencies by code outside their home locale ("RUB1,500.00"): the sign reads
# better for a buyer.
SIGNS: Final = {"RUB": "₽", "GEL": "₾", "USD": "$", "EUR": "€"}


def _load(lang: str) -> dict[str, str]:
    with (LOCALES / f"{lang}.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string}


MESSAGES: Final[dict[str, dict[str, str]]] = {lang: _load(lang) for lang in LANGUAGES}

# The flow's problems are English sentences (the merchant API's `detail`); a page in another
# language shows them translated. Each `error_…` entry of the English catalogue is one such
# sentence, `{name}` standing for what varies ("{n} endpoints"); the other catalogues say it
# their way with the same names. A sentence no entry matches is shown as it is.
_PLACEHOLDER = re.compile(r"\\\{(\w+)\\\}")


def _patterns() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for key, english in MESSAGES["en"].items():
        if key.startswith("error_"):
            regex = _PLACEHOLDER.sub(lambda m: f"(?P<{m.group(1)}>.+?)", re.escape(english))
            out.append((re.compile(f"^{regex}$"), key))
    return out


ERROR_PATTERNS: Final = _patterns()


def say(message: str, lang: str) -> str:
    """`message` in `lang`: a catalogue key as it is, or one of the flow's English problems
    translated (with what varies put back in); else the message unchanged."""
    messages = MESSAGES[lang]
    if message in messages:
        return messages[message]
    for regex, key in ERROR_PATTERNS:
        found = regex.match(message)
        if found and key in messages:
            return messages[key].format(**found.groupdict())
    return message


@lru_cache(maxsize=4096)
def format_money(amount: int, currency: str, lang: str) -> str:
    """Minor units as the buyer's locale writes money: "1 234,56 ₽", "₽1,234.56", "12,00 ₾".
    Kept: Babel's formatting costs as much as the rest of a page's render."""
    value = Decimal(amount).scaleb(-CURRENCIES[currency].exponent)
    text = format_currency(value, currency, locale=lang)
    return text.replace(currency, SIGNS.get(currency, currency)).replace("US$", "$")


def format_quantity(quantity: Decimal, lang: str) -> str:
    """An item's quantity as the buyer's locale writes numbers: "2", "1,5" (ru), "1.5" (en)."""
    return format_decimal(quantity, locale=lang)


def pick_language(request: Request, merchant_default: str = "") -> str:
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    header = request.headers.get("accept-language", "")
    ranked: list[tuple[float, str]] = []
    for part in header.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        lang = tag.split("-")[0].lower()
        if lang in LANGUAGES:
            ranked.append((weight, lang))
    if ranked:
        return max(ranked, key=lambda r: r[0])[1]
    return merchant_default if merchant_default in LANGUAGES else DEFAULT
