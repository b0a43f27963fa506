# -*- coding: utf-8 -*-
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The ``json_query`` filter: a JMESPath query over any data.

community.general carries the usual ``json_query``; this collection does not depend on it, so the
playbooks use this small equivalent instead.
"""

from __future__ import annotations

from typing import Any

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_native

try:
    import jmespath
except ImportError as import_error:  # the controller without jmespath: report it when the filter is used
    jmespath = None
    JMESPATH_IMPORT_ERROR: ImportError | None = import_error
else:
    JMESPATH_IMPORT_ERROR = None


def _plain(data: Any) -> Any:
    """Turn Ansible's wrapped containers and strings into the plain types jmespath knows."""
    if isinstance(data, dict):
        return {str(key): _plain(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_plain(item) for item in data]
    if isinstance(data, str):
        return str(data)
    return data


def json_query(data: Any, expression: str) -> Any:
    """Evaluate the JMESPath ``expression`` against ``data``."""
    if jmespath is None:
        raise AnsibleFilterError(
            f"kafka_ops.remediation.json_query needs the jmespath Python library on the controller: "
            f"pip install jmespath ({JMESPATH_IMPORT_ERROR})"
        )
    if not isinstance(expression, str):
        raise AnsibleFilterError(f"json_query expression must be a string, got {type(expression).__name__}")
    try:
        return jmespath.search(expression, _plain(data))
    except jmespath.exceptions.JMESPathError as error:
        raise AnsibleFilterError(f"json_query expression {expression!r} is not valid JMESPath: {to_native(error)}")


class FilterModule:
    """JMESPath queries for playbooks."""

    def filters(self) -> dict:
        return {"json_query": json_query}
