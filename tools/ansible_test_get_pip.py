# Copyright (c) kafka_ops.remediation contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Offline stand-in for the get-pip.py script that ansible-test downloads to seed its sanity-test venvs.

ansible-test creates one virtualenv per sanity test without pip and runs a cached get-pip.py in it. Our
machines reach the package index but not the host that serves that script, so this file takes its place:
it runs pip from a pip wheel already on the machine (the interpreter's own ensurepip wheel, or Debian's
python3-pip-whl, which Debian's python3-venv depends on) with the arguments get-pip.py would get, and pip then
installs the pinned pip and the test's requirements from the package index.

`python tools/ansible_test_get_pip.py --install` copies this file to the path ansible-test looks for.
"""

import ensurepip
import glob
import os
import shutil
import sys

# A CPython built from source keeps its pip wheel beside ensurepip; Debian's python3 has it in python-wheels.
PIP_WHEELS = [os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl"),
              "/usr/share/python-wheels/pip-*.whl"]


def install_as_cached_bootstrap() -> None:
    from ansible_test._internal.python_requirements import get_venv_packages  # pylint: disable=import-outside-toplevel

    class _Python:  # get_venv_packages only reads .version
        version = f"{sys.version_info.major}.{sys.version_info.minor}"

    pip_version = get_venv_packages(_Python())["pip"]
    target = os.path.expanduser(f"~/.ansible/test/cache/get_pip_{pip_version.replace('.', '_')}.py")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copyfile(__file__, target)


def run_bundled_pip() -> int:
    wheels = [wheel for pattern in PIP_WHEELS for wheel in sorted(glob.glob(pattern))]
    if not wheels:
        sys.stderr.write(f"no pip wheel at {' or '.join(PIP_WHEELS)}: install Debian's python3-venv\n")
        return 1
    sys.path.insert(0, wheels[0])
    from pip._internal.cli.main import main  # pylint: disable=import-outside-toplevel

    # get-pip.py's own flags say "do not add setuptools/wheel", which plain pip never does anyway.
    own_flags = {"--no-setuptools", "--no-wheel"}
    pip_args = [arg for arg in sys.argv[1:] if arg not in own_flags]
    return main(["install", "--upgrade", "--force-reinstall"] + pip_args)


if __name__ == "__main__":
    if sys.argv[1:] == ["--install"]:
        install_as_cached_bootstrap()
    else:
        sys.exit(run_bundled_pip())
