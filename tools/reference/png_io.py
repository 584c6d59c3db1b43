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


def read_png(path):
    """Reads back what write_png writes (8-bit RGB, filter 0 on every row) as a uint8 [3, h, w] tensor."""
    import torch
    with open(path, "rb") as f:
        data = f.read()
    pos, idat, size = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    w, h = size
    raw = zlib.decompress(idat)
    stride = 1 + 3 * w
    assert all(raw[y * stride] == 0 for y in range(h)), "only filter 0 rows"
    rows = b"".join(raw[y * stride + 1:(y + 1) * stride] for y in range(h))
    return torch.frombuffer(bytearray(rows), dtype=torch.uint8).reshape(h, w, 3).permute(2, 0, 1).contiguous()
