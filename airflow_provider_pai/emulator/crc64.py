"""CRC-64/ECMA as OSS computes it (x-oss-hash-crc64ecma), via crcmod's C extension."""

from __future__ import annotations

import crcmod

_crc64 = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)


def crc64(data: bytes, crc: int = 0) -> int:
    """CRC of ``data`` continuing from ``crc`` (the CRC of everything before it)."""
    return _crc64(data, crc)
