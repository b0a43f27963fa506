# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A real Kafka 3.9 cluster in ZooKeeper mode on one machine, for the tests and the demo.

Not part of the collection: `galaxy.yml` leaves it out of the build. Run it as `python -m lab <command>`.
"""
