"""A merchant's accent colour, and the text colour that stays readable on it (WCAG 2.2).

Any colour reads at ≥ 4.58:1 under black or white text, so the choice never fails for a real
colour; the check stays, so a future rule (say, AAA) cannot slip through.
"""

from __future__ import annotations

import re

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
MIN_CONTRAST = 4.5  # WCAG 2.2 AA for normal text: the pay button's label


class BrandError(ValueError):
    pass


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(accent: str) -> str:
    """Black or white, whichever reads better on `accent`; refuses a colour neither can."""
    if not HEX.match(accent):
        raise BrandError("the accent colour must be #rrggbb")
    best = max(("#000000", "#ffffff"), key=lambda text: contrast(accent, text))
    if contrast(accent, best) < MIN_CONTRAST:
        raise BrandError(f"{accent} is too dull for readable button text (contrast "
                         f"{contrast(accent, best):.2f}, at least {MIN_CONTRAST} needed)")
    return best
