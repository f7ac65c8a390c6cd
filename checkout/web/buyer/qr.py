"""QR codes as inline SVG, black on white, cached: the same link is drawn on every poll."""

from __future__ import annotations

from functools import lru_cache

import segno


@lru_cache(maxsize=4096)
def qr_svg(url: str) -> str:
    code = segno.make(url, error="m", micro=False)
    return code.svg_inline(scale=1, border=4, dark="#000", light="#fff", omitsize=True,
                           svgclass="qr-code", lineclass=None, title=None)
