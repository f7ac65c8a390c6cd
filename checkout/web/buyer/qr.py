"""QR codes as inline SVG, black on white, cached: the same link is drawn on every poll.

A desktop buyer's start draws one, so its cost is paid on the hottest request there is. The
code is made by zxing-cpp (C++: 0.3 ms, the mask chosen by the standard's own score), and
drawn here as one path of horizontal runs: 0.55–0.8 ms a code in all, where segno (pure
Python) took 2.3–3.5 ms in the same runs, 1.3 ms of it to make the code with its mask fixed.
segno stays where a code is a file to download or print (`checkout/web/console/`): rare.
`tests/browsers.py` reads what the page shows with zbarimg, a decoder of its own.
"""

from __future__ import annotations

import re
from functools import lru_cache

import zxingcpp

BORDER = 4  # modules of quiet zone on each side, as the standard asks
_DARK_RUN = re.compile(rb"\x00+")  # zxing's image: 0 is a dark module, 255 a light one


@lru_cache(maxsize=4096)
def qr_svg(url: str) -> str:
    code = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = code.to_image(scale=1, add_quiet_zones=False)
    size: int = image.shape[0]
    pixels = bytes(image)  # type: ignore[call-overload]  # a buffer; its stub omits it
    # Each row is a move to its start, then per run of dark modules a relative move over
    # the light ones and a line as long as the run: the stroke (1 unit wide, centred half a
    # module down) covers the row's dark modules exactly.
    path = []
    for y in range(size):
        start = y * size
        path.append(f"M{BORDER} {y + BORDER}.5")
        x = 0
        for run in _DARK_RUN.finditer(pixels, start, start + size):
            begin, end = run.start() - start, run.end() - start
            path.append(f"m{begin - x} 0h{end - begin}" if begin > x else f"h{end - begin}")
            x = end
    width = size + 2 * BORDER
    return (f'<svg viewBox="0 0 {width} {width}" class="qr-code">'
            f'<path fill="#fff" d="M0 0h{width}v{width}h-{width}z"/>'
            f'<path stroke="#000" d="{"".join(path)}"/></svg>')
