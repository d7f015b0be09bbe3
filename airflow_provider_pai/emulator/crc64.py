"""CRC-64/ECMA as OSS computes it (x-oss-hash-crc64ecma), via crcmod's C extension."""

from __future__ import annotations

from crcmod.crcmod import mkCrcFun  # crcmod's package re-exports it with a star import mypy cannot follow

_crc64 = mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)


def crc64(data: bytes, crc: int = 0) -> int:
    """CRC of ``data`` continuing from ``crc`` (the CRC of everything before it)."""
    return _crc64(data, crc)


_POLY_REVERSED = 0xC96C5795D7870F42


def _gf2_times(mat: list[int], vec: int) -> int:
    total, i = 0, 0
    while vec:
        if vec & 1:
            total ^= mat[i]
        vec >>= 1
        i += 1
    return total


def _gf2_square(mat: list[int]) -> list[int]:
    return [_gf2_times(mat, row) for row in mat]


def crc64_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC of A+B from crc(A), crc(B) and len(B), without the data (zlib's crc32_combine, 64-bit):
    lets a multipart object's CRC come from its parts' CRCs."""
    if len2 == 0:
        return crc1
    odd = [_POLY_REVERSED] + [1 << n for n in range(63)]  # the operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:  # apply len2 zero bytes to crc1, one bit of len2 at a time
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2
