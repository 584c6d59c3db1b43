"""Writes 8-bit RGB PNGs with zlib alone (test images that image.load reads back to byte / 255)."""
import struct
import zlib


def write_png(path, chw):
    """An 8-bit RGB PNG (filter 0 on every row), written with zlib only."""
    c, h, w = chw.shape
    rows = b"".join(b"\x00" + chw[:, y, :].transpose(0, 1).contiguous().numpy().tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
