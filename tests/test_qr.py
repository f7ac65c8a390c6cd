"""The buyer's QR code, read by zbarimg (a decoder of its own, not the library that made it)
from a picture of what the SVG draws. The browser tests read it from the page itself; this
one covers links of every length a code grows through, in a second."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import pytest

from checkout.web.buyer.qr import qr_svg
from tests.browsers import decode_qr

SCALE = 6  # pixels a module


def picture(svg: str, into: Path) -> Path:
    """A PNG of the SVG as a browser draws it: a white square, then per path command a
    horizontal stroke one module high, centred on its row."""
    width = int(re.search(r'viewBox="0 0 (\d+) \1"', svg)[1])  # type: ignore[index]
    dark = [[False] * width for _ in range(width)]
    strokes = re.search(r'<path stroke="#000" d="([^"]+)"/>', svg)[1]  # type: ignore[index]
    x = y = 0.0
    for command, numbers in re.findall(r"([MmHh])([-\d. ]+)", strokes):
        values = [float(n) for n in numbers.split()]
        if command == "M":
            x, y = values
        elif command == "m":
            x, y = x + values[0], y + values[1]
        else:
            end = x + values[0] if command == "h" else values[0]
            assert y % 1 == 0.5, "a stroke off a row's centre would smear two rows"
            for column in range(int(x), int(end)):
                dark[int(y)][column] = True
            x = end
    rows = b"".join(
        b"\0" + bytes(0 if dark[r // SCALE][c // SCALE] else 255
                      for c in range(width * SCALE))
        for r in range(width * SCALE))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data))
    size = width * SCALE
    into.write_bytes(b"\x89PNG\r\n\x1a\n" +
                     chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)) +
                     chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return into


@pytest.mark.parametrize("link", [
    "https://t.me/x",
    "https://www.tinkoff.ru/tpay/1923863684?t=ps_0123456789abcdef",
    "http://127.0.0.1:8001/sandbox/tbank/tpay/" + "a1b2c3d4" * 16 + "?lang=ru&return=yes",
    "https://pay.example/" + "x" * 600,
])
def test_the_code_reads_back_as_its_link(link: str, tmp_path: Path) -> None:
    svg = qr_svg(link)
    assert svg.startswith('<svg viewBox="0 0 ') and 'class="qr-code"' in svg
    assert decode_qr(picture(svg, tmp_path / "qr.png")) == link


def test_the_quiet_zone_is_four_light_modules(tmp_path: Path) -> None:
    svg = qr_svg("https://t.me/x")
    width = int(re.search(r'viewBox="0 0 (\d+)', svg)[1])  # type: ignore[index]
    starts = [float(n) for n in re.findall(r"M([\d.]+) ", svg.split('stroke="#000"')[1])]
    assert min(starts) == 4, "each row's first dark module sits past the quiet zone"
    rows = [float(n) for n in re.findall(r"M[\d.]+ ([\d.]+)", svg.split('stroke="#000"')[1])]
    assert min(rows) == 4.5 and max(rows) == width - 4 - 0.5
