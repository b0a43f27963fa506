# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The floors environment pins what requirements.txt and meta/runtime.yml declare as minimums, and nothing else."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SPEC = importlib.util.spec_from_file_location("requirement_floors", REPO / "tools" / "requirement_floors.py")
requirement_floors = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(requirement_floors)

RUNTIME = 'requires_ansible: ">=2.19.0"\n'


def test_every_floor_becomes_an_exact_pin_extras_kept_and_comments_ignored():
    text = "# a comment\n\nkazoo[sasl]>=2.10,<3\nkafka-python >= 3.0.12, <4  # why\njmespath>=1.0,<2\n"
    assert requirement_floors.floors(text, RUNTIME) == [
        "kazoo[sasl]==2.10", "kafka-python==3.0.12", "jmespath==1.0", "ansible-core==2.19.0"]


@pytest.mark.parametrize("line", ["paramiko", "paramiko<6", "paramiko==3.4"])
def test_a_requirement_without_a_minimum_is_refused_by_name(line):
    with pytest.raises(ValueError, match=r"'paramiko.*' declares no minimum"):
        requirement_floors.floors(line + "\n", RUNTIME)


def test_requires_ansible_without_a_minimum_is_refused():
    with pytest.raises(ValueError, match="requires_ansible declares no minimum"):
        requirement_floors.floors("jmespath>=1.0\n", 'requires_ansible: "<3"\n')


def test_the_repository_declares_a_floor_for_every_runtime_requirement():
    pins = requirement_floors.floors((REPO / "requirements.txt").read_text(encoding="utf-8"),
                                     (REPO / "meta" / "runtime.yml").read_text(encoding="utf-8"))
    assert any(pin.startswith("ansible-core==2.19.") for pin in pins)
    assert all("==" in pin for pin in pins)
