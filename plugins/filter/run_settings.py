# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``run_settings``: a playbook's variables as surveys give them, typed and checked, with the directories of
its backups, journal and reports. The work is done in ``module_utils/playbook/settings.py``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

from ansible_collections.kafka_ops.remediation.plugins.module_utils.playbook import settings


def run_settings(variables: Any, playbook: str) -> dict:
    """{settings, errors} of ``playbook`` from ``variables`` (its variables as the play resolves them)."""
    if not isinstance(variables, Mapping):
        raise AnsibleFilterError("run_settings expects a dict of the playbook's variables, {name: value}")
    try:
        return settings.normalise(str(playbook), variables)
    except KeyError as error:
        raise AnsibleFilterError(str(error.args[0])) from None


class FilterModule:
    """Playbook settings as surveys give them."""

    def filters(self) -> dict:
        return {"run_settings": run_settings}
