"""QR codes as inline SVG, black on white, cached: the same link is drawn on every poll.

The mask is fixed. Every one of the eight masks makes a valid code that any reader decodes;
segno's automatic choice scores all eight for the one with the fewest blotches, which tripled
the cost of a code (8 ms against 2.3 ms on one core) for a code shown on a screen, not printed
small, where that score does not matter. `tests/browsers.py` reads what the page shows with
zbarimg.
"""

from __future__ import annotations

from functools import lru_cache

import segno

MASK = 2


@lru_cache(maxsize=4096)
def qr_svg(url: str) -> str:
    code = segno.make(url, error="m", micro=False, mask=MASK)
    return code.svg_inline(scale=1, border=4, dark="#000", light="#fff", omitsize=True,
                           svgclass="qr-code", lineclass=None, title=None)
