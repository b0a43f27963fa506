# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab's one error type: its message is the single line the CLI prints."""


class LabError(Exception):
    """Something the user can fix; the message says what and where to look."""
