#!/usr/bin/env bash
# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Prints the path of a CPython 3.12 or later for the controller's virtualenvs, installing one first when the
# machine has none: ansible-core 2.20 and later run only on 3.12+, and Debian 12's python3 is 3.11.
#
# Debian 13's own python3 is used when it is there. Elsewhere CPython 3.13 is built once from Debian 13's source
# package (the upstream tarball, fetched and signature-checked by apt from the machine's own Debian mirror, with
# a private apt state so that the machine's sources and package lists are left alone) into
# ~/.cache/kafka_ops_lab/python, next to the Kafka jars. The build takes a few minutes, once per machine.
set -euo pipefail

cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/kafka_ops_lab
prefix=$cache_root/python

usable() {
    [ -x "$1" ] && "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 12))' 2>/dev/null
}

for candidate in /usr/bin/python3 /usr/bin/python3.13 /usr/bin/python3.12 "$prefix/bin/python3"; do
    if usable "$candidate"; then
        echo "$candidate"
        exit 0
    fi
done

# Everything below goes to stderr: stdout carries only the interpreter's path.
exec 3>&1 1>&2

build_deps=(build-essential xz-utils libssl-dev zlib1g-dev libffi-dev libbz2-dev liblzma-dev libsqlite3-dev
            libreadline-dev libncurses-dev uuid-dev)
missing=()
for pkg in "${build_deps[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "no Python 3.12+ here, and building one needs Debian packages: ${missing[*]}; run as root" >&2
        exit 1
    fi
    echo "installing the Debian packages to build Python: ${missing[*]}"
    # The package lists may be as old as the machine's image: install-debian-packages.sh refreshes them only
    # when one of its own packages is missing.
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mirror=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' \
             /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
if [ -z "$mirror" ]; then
    mirror=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\/.*\/debian\/?$/) { print $i; exit } }' \
                 /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
fi
if [ -z "$mirror" ]; then
    echo "no Debian mirror found in /etc/apt/sources.list*: cannot fetch Python's source; install python3.12+ yourself" >&2
    exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/src"
cat > "$work/apt/debian13-src.sources" <<EOF
Types: deb-src
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
apt_private=(-q -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/apt"
             -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache" -o APT::Sandbox::User=root)
echo "building Python 3.13 from Debian 13's source package into $prefix (once per machine, a few minutes)"
apt-get "${apt_private[@]}" update >/dev/null
(cd "$work/src" && apt-get "${apt_private[@]}" source --download-only python3.13 >/dev/null)
tar -xJf "$work"/src/python3.13_*.orig.tar.xz -C "$work/src"
cd "$work"/src/Python-3.13.*/
./configure -q --prefix="$prefix" --with-ensurepip=install >"$work/configure.log" 2>&1 \
    || { tail -20 "$work/configure.log"; exit 1; }
make -s -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -20 "$work/make.log"; exit 1; }
# Installed into a staging root and moved into place, so that an interrupted build never leaves a half Python.
make -s install DESTDIR="$work/stage" >"$work/install.log" 2>&1 || { tail -20 "$work/install.log"; exit 1; }
rm -rf "$prefix"
mkdir -p "$cache_root"
mv "$work/stage$prefix" "$prefix"
ln -sfn python3.13 "$prefix/bin/python3"
usable "$prefix/bin/python3" || { echo "the Python built in $prefix does not run" >&2; exit 1; }
echo "$prefix/bin/python3" >&3
