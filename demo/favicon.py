"""The demo's icon, a white key on a blue disc, drawn here so that no binary file is kept.

`favicon_ico()` gives a 32x32 ICO file holding one PNG image (Windows Vista and every current
browser read that form).
"""

from __future__ import annotations

import struct
import zlib
from functools import cache

SIZE = 32
BLUE = (0x24, 0x57, 0xD6, 0xFF)
WHITE = (0xFF, 0xFF, 0xFF, 0xFF)
CLEAR = (0, 0, 0, 0)


def _pixel(x: int, y: int) -> tuple[int, int, int, int]:
    cx, cy = x + 0.5 - SIZE / 2, y + 0.5 - SIZE / 2
    if cx * cx + cy * cy > (SIZE / 2) ** 2:
        return CLEAR
    # The key: a ring at the left, a shaft to the right, two teeth below the shaft.
    rx, ry = x + 0.5 - 10.5, y + 0.5 - 16
    ring = 3.0**2 <= rx * rx + ry * ry <= 5.5**2
    shaft = 15 <= x <= 25 and 15 <= y <= 17
    teeth = (19 <= x <= 20 or 23 <= x <= 25) and 18 <= y <= 20
    return WHITE if ring or shaft or teeth else BLUE


def _png() -> bytes:
    rows = b"".join(
        b"\x00" + b"".join(bytes(_pixel(x, y)) for x in range(SIZE)) for y in range(SIZE)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        checksum = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + checksum

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


@cache
def favicon_ico() -> bytes:
    png = _png()
    directory = struct.pack("<HHH", 0, 1, 1)  # reserved, type 1 (icon), one image
    entry = struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(png), 6 + 16)
    return directory + entry + png
