# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pure-Python CRC-32C must give exactly the C implementation's answers."""

from __future__ import annotations

import os
import random

import crc32c as c_crc32c
import pytest

from ansible_collections.kafka_ops.remediation.plugins.module_utils.log_format import crc32c


def test_check_value_of_the_castagnoli_polynomial():
    # The standard check value: CRC-32C of the ASCII digits 1..9.
    assert crc32c.python_crc32c(b"123456789") == 0xE3069283


def test_c_implementation_is_used_when_importable():
    assert crc32c.IMPLEMENTATION == "crc32c"
    assert crc32c.crc32c(b"123456789") == 0xE3069283


@pytest.mark.parametrize("length", list(range(0, 33)) + [61, 255, 4096, 16385])
def test_python_matches_c_for_every_tail_length(length):
    data = random.Random(length).randbytes(length)
    assert crc32c.python_crc32c(data) == c_crc32c.crc32c(data)


@pytest.mark.parametrize("split", [0, 1, 7, 8, 9, 100])
def test_python_continues_from_a_previous_value(split):
    data = os.urandom(200)
    assert crc32c.python_crc32c(data[split:], crc32c.python_crc32c(data[:split])) == c_crc32c.crc32c(data)


def test_python_accepts_memoryview_slices_and_bytearrays():
    data = bytearray(os.urandom(1000))
    assert crc32c.python_crc32c(memoryview(data)[21:900]) == c_crc32c.crc32c(bytes(data[21:900]))
