"""Builders of hostile files, made on the fly (never committed): entity bombs and 10 GB bombs.

Each compressed bomb is built from a block that is compressed once and repeated, so a file of a
few MB (or KB) claims or really inflates to 10 GB without anybody compressing 10 GB.
"""

from __future__ import annotations

import io
import json
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

GB = 1024**3
#: what every compressed bomb here inflates to
BOMB_SIZE = 10 * GB


def billion_laughs(root: str, inner: str = "{lol}") -> bytes:
    """An XML document whose entity ``&lol9;`` expands to 10⁹ "lol"s (3 GB) inside ``root``."""
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        entities.append(f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">')
    name = root.split()[0]
    body = inner.format(lol="&lol9;")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE {name} [\n '
        + "\n ".join(entities)
        + f"\n]>\n<{root}>{body}</{name}>\n"
    ).encode()


def gzip_bomb(path: Path, head: bytes, row: bytes, size: int = BOMB_SIZE) -> Path:
    """A gzip of ``head`` then ``row`` repeated to ``size`` bytes, as concatenated members."""
    chunk = row * (16 * 1024 * 1024 // len(row))
    member = zlib.compress(chunk, 9, wbits=31)
    with path.open("wb") as out:
        out.write(zlib.compress(head, 9, wbits=31))
        for _ in range(size // len(chunk)):
            out.write(member)
    return path


def _deflate_repeated(block: bytes, count: int) -> tuple[bytes, bytes, bytes]:
    """(first, repeated, final) raw deflate pieces: first + repeated*(count-1) + final inflates
    to ``block * count``. A full flush resets the window, so every block compresses alike."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    final = compressor.flush(zlib.Z_FINISH)
    assert count >= 2
    return first, again, final


def zip_bomb(path: Path, members: dict[str, bytes], big: str, block: bytes, *,
             size: int = BOMB_SIZE, declared: int | None = None) -> Path:  # fmt: skip
    """A zip (zip64) with ordinary ``members`` and one member ``big`` that really inflates to
    ``size`` bytes of ``block`` repeated. ``declared`` makes the headers lie about its size."""
    count = size // len(block)
    first, again, final = _deflate_repeated(block, count)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    small = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    entries = [(info, small.read(info.filename)) for info in small.infolist()]
    compressed_size = len(first) + len(again) * (count - 1) + len(final)
    uncompressed = len(block) * count if declared is None else declared
    csize = compressed_size if declared is None else declared // 100 + 1
    with path.open("wb") as out:
        central = []
        for info, data in entries:
            offset = out.tell()
            packed = zlib.compressobj(9, zlib.DEFLATED, -15)
            body = packed.compress(data) + packed.flush()
            name = info.filename.encode()
            crc = zlib.crc32(data)
            out.write(struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(body),
                                  len(data), len(name), 0) + name + body)  # fmt: skip
            central.append((name, crc, len(body), len(data), offset, b""))
        offset = out.tell()
        name = big.encode()
        extra = struct.pack("<2H2Q", 1, 16, uncompressed, csize)
        out.write(struct.pack("<4s5H3I2H", b"PK\x03\x04", 45, 0, 8, 0, 0, 0, 0xFFFFFFFF,
                              0xFFFFFFFF, len(name), len(extra)) + name + extra)  # fmt: skip
        out.write(first)
        for _ in range(count - 1):
            out.write(again)
        out.write(final)
        central.append((name, 0, csize, uncompressed, offset, b"zip64"))
        cd_start = out.tell()
        for name, crc, clen, ulen, off, kind in central:
            if kind:
                extra = struct.pack("<2H3Q", 1, 24, ulen, clen, off)
                out.write(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 45, 45, 0, 8, 0, 0, crc,
                                      0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra), 0, 0, 0, 0,
                                      0xFFFFFFFF) + name + extra)  # fmt: skip
            else:
                header = struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc,
                                     clen, ulen, len(name), 0, 0, 0, 0, 0, off)  # fmt: skip
                out.write(header + name)
        cd_end = out.tell()
        entries_n = len(central)
        out.write(struct.pack("<4sQ2H2I4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries_n,
                              entries_n, cd_end - cd_start, cd_start))  # fmt: skip
        out.write(struct.pack("<4sIQI", b"PK\x06\x07", 0, cd_end, 1))
        out.write(struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                              0xFFFFFFFF, 0))  # fmt: skip
    return path


def zstd_rle_frame(prefix: bytes, fill: int, size: int) -> bytes:
    """One Zstandard frame: ``prefix`` as a raw block, then ``size`` bytes of ``fill`` as RLE
    blocks of 128 KiB, 4 bytes each (10 GB in 320 KB)."""
    block = 128 * 1024
    out = bytearray(struct.pack("<I", 0xFD2FB528))
    out += bytes([0x00, (17 - 10) << 3])  # no content size, window 128 KiB
    for start in range(0, len(prefix), block):
        piece = prefix[start : start + block]
        out += (len(piece) << 3 | 0 << 1 | 0).to_bytes(3, "little") + piece
    blocks = size // block
    rle = ((block << 3) | (1 << 1)).to_bytes(3, "little") + bytes([fill])
    out += rle * (blocks - 1)
    out += ((block << 3) | (1 << 1) | 1).to_bytes(3, "little") + bytes([fill])
    return bytes(out)


def bundle_bomb(
    path: Path, manifest: dict[str, object], member: str, size: int = BOMB_SIZE
) -> Path:
    """A feed bundle (.tar.zst) whose second member is ``size`` bytes of spaces."""
    data = json.dumps(manifest).encode()
    info = tarfile.TarInfo("manifest.json")
    info.size = len(data)
    big = tarfile.TarInfo(member)
    big.size = size
    padding = b"\0" * (-len(data) % tarfile.BLOCKSIZE)
    # Headers and the manifest as they are; the big member's content follows as RLE blocks.
    head = info.tobuf(tarfile.PAX_FORMAT) + data + padding + big.tobuf(tarfile.PAX_FORMAT)
    path.write_bytes(zstd_rle_frame(head, 0x20, size))
    return path
