#!/usr/bin/env bash
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Installs the Debian 12 packages the lab and the test suite need, only when one is missing, so that
# `make demo` and `make test` stay quick on a machine that has them already.
#   openjdk-17-jre-headless  runs Kafka 3.9 and ZooKeeper
#   maven                    resolves Kafka's jars
#   openssh-server           one sshd per lab host (zk1, kafka1-3, app1)
#   openssh-client           Ansible's ssh connection
#   python3, python3-venv    the controller's virtualenv; Debian's python3 runs modules on the lab's hosts
#   git, shellcheck          ansible-test sanity lists files with git and lints shell scripts
#   procps, iproute2         ps/pgrep and ss for the lab's process and port checks
set -euo pipefail
packages=(openjdk-17-jre-headless maven openssh-server openssh-client python3 python3-venv git procps iproute2 shellcheck)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages: ${missing[*]}; run as root or install them with apt-get" >&2
    exit 1
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
