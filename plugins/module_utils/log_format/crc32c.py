# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""CRC-32C (Castagnoli), the checksum of Kafka's v2 record batches.

A C implementation is used when one is importable (``crc32c`` or ``google-crc32c``); otherwise a pure-Python
slicing-by-8 implementation gives the same answers, more slowly. ``IMPLEMENTATION`` says which one is active.
"""

from __future__ import annotations

import struct
from typing import Callable, List, Optional, Tuple

# Reflected form of the Castagnoli polynomial 0x1EDC6F41.
_POLYNOMIAL = 0x82F63B78
_WORD_PAIRS = struct.Struct("<II")


def _build_tables() -> Tuple[List[int], ...]:
    """Eight 256-entry tables: table k advances a byte's contribution by k further bytes (slicing-by-8)."""
    first = []
    for byte in range(256):
        crc = byte
        for _bit in range(8):
            crc = (crc >> 1) ^ _POLYNOMIAL if crc & 1 else crc >> 1
        first.append(crc)
    tables = [first]
    for _k in range(7):
        previous = tables[-1]
        tables.append([(value >> 8) ^ first[value & 0xFF] for value in previous])
    return tuple(tables)


_T0, _T1, _T2, _T3, _T4, _T5, _T6, _T7 = _build_tables()


def python_crc32c(data: bytes | bytearray | memoryview, value: int = 0) -> int:
    """Pure-Python CRC-32C of ``data``, continuing from ``value`` (the CRC of the bytes before it)."""
    view = memoryview(data).cast("B")
    crc = value ^ 0xFFFFFFFF
    whole = len(view) - len(view) % 8
    t0, t1, t2, t3, t4, t5, t6, t7 = _T0, _T1, _T2, _T3, _T4, _T5, _T6, _T7
    # Eight bytes per step: XOR the low word into the running CRC, then one lookup per byte, each table
    # already accounting for how many bytes later that byte's contribution lands.
    for low, high in _WORD_PAIRS.iter_unpack(view[:whole]):
        crc ^= low
        crc = (t7[crc & 0xFF] ^ t6[(crc >> 8) & 0xFF] ^ t5[(crc >> 16) & 0xFF] ^ t4[crc >> 24]
               ^ t3[high & 0xFF] ^ t2[(high >> 8) & 0xFF] ^ t1[(high >> 16) & 0xFF] ^ t0[high >> 24])
    for byte in view[whole:]:
        crc = (crc >> 8) ^ t0[(crc ^ byte) & 0xFF]
    return crc ^ 0xFFFFFFFF


def _load_c_implementation() -> Tuple[Optional[Callable[[bytes, int], int]], str]:
    try:
        import crc32c as crc32c_package  # pylint: disable=import-outside-toplevel
        return crc32c_package.crc32c, "crc32c"
    except ImportError:
        pass
    try:
        import google_crc32c  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None, "python"
    # google-crc32c ships its own pure-Python fallback; ours is faster, so only take its C extension.
    if getattr(google_crc32c, "implementation", "c") != "c":
        return None, "python"
    return (lambda data, value=0: google_crc32c.extend(value, data)), "google_crc32c"


_C_CRC32C, IMPLEMENTATION = _load_c_implementation()
crc32c: Callable[..., int] = _C_CRC32C if _C_CRC32C is not None else python_crc32c
