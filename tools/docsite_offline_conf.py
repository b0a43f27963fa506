# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# `make publish-check` appends this to the conf.py that `antsibull-docs sphinx-init` writes, so that the docsite
# builds with warnings as errors on a machine without internet access. The inventories that intersphinx would
# fetch (Python, Jinja, docs.ansible.com) cannot be reached there, so there is no intersphinx, and a reference to
# a label outside this collection (ansible.builtin's plugins, the Ansible docs' common_return_values and the
# like) cannot be resolved and is not reported; every reference to this collection's own pages and guides still
# must resolve.
intersphinx_mapping = {}
nitpick_ignore_regex = [
    ("std:ref", r"(?!ansible_collections\.kafka_ops\.remediation\.).*"),
]
