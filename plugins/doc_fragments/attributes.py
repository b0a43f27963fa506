# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """The check_mode and diff_mode attributes every module documents, and the support of the modules that only read.

    A module extends DOCUMENTATION for what the two attributes mean, and either READ_ONLY or its own C(support)
    and C(details); its own keys win over the fragment's, so it can still say what it alone does.
    """

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and report what it would change without changing anything.
  diff_mode:
    description: Returns what it changes (or would change, in check mode) as a before and an after in diff mode.
"""

    # The _info modules and the waits that only read: check mode changes nothing about them.
    READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
    details: Only reads; runs the same in check mode.
  diff_mode:
    support: none
    details: Changes nothing, so there is nothing to diff.
"""
