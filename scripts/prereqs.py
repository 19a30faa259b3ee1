# Copyright 2026 The VisitMe codelab authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Check the tools that `make run` and `make test` cannot install themselves.

Usage: python3 scripts/prereqs.py

Prints nothing and exits 0 when Python 3.11+, the Google Cloud CLI with its
app-engine-python and cloud-datastore-emulator components, and Java 11+ are
all there. Otherwise prints one line per missing tool, naming it and the one
command that installs it here, and exits 1.
"""

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

INSTALL_CLI = "https://cloud.google.com/sdk/docs/install"
# The components needed, each with its Debian/RPM package as the CLI's own
# .install/component_mapping.yaml names it (CLI 528), for a CLI without that file.
COMPONENTS = {
    "app-engine-python": "google-cloud-cli-app-engine-python",
    "cloud-datastore-emulator": "google-cloud-cli-datastore-emulator",
}
# `gcloud emulators datastore start` refuses a Java below 11 (CLI 528,
# lib/surface/emulators/datastore/start.py, RequireJavaInstalled(min_version=11)).
MIN_JAVA = 11


@functools.cache  # it may ask gcloud itself, which takes a second
def find_sdk_root():
    """Return the Google Cloud CLI's install folder, or None if gcloud is absent."""
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return None
    root = Path(gcloud).resolve().parent.parent
    if (root / "bin" / "gcloud").exists() and (root / "platform").is_dir():
        return root
    found = subprocess.run(
        [gcloud, "info", "--format=value(installation.sdk_root)"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return Path(found) if found else root


def sdk_python(sdk_root):
    """Return the Python that ships with the CLI (dev_appserver runs on it)."""
    bundled = sdk_root / "platform" / "bundledpythonunix" / "bin" / "python3"
    return str(bundled) if bundled.exists() else os.environ.get("CLOUDSDK_PYTHON")


def dev_appserver(sdk_root):
    """Return the path of dev_appserver.py, or None without app-engine-python."""
    script = sdk_root / "platform" / "google_appengine" / "dev_appserver.py"
    return script if script.exists() else None


def has_component(sdk_root, component):
    """Say whether a Google Cloud CLI component is installed."""
    if component == "app-engine-python":
        return dev_appserver(sdk_root) is not None
    return (sdk_root / "platform" / component).is_dir()


def package_managed(sdk_root):
    """Say whether apt or dnf installed the CLI, so `gcloud components` is off."""
    # gcloud refuses `components install` when "disable_updater" is true in
    # lib/googlecloudsdk/core/config.json (core/config.py InstallationConfig,
    # core/updater/update_manager.py _CheckIfDisabledAndThrowError); the
    # Debian package google-cloud-cli ships that file with it set.
    config = sdk_root / "lib" / "googlecloudsdk" / "core" / "config.json"
    try:
        return json.loads(config.read_text()).get("disable_updater") is True
    except (OSError, ValueError, AttributeError):
        return False


def sdk_mapping(sdk_root, name):
    """Read one of the CLI's `key: value` files in .install/, or {} without it."""
    try:
        text = (sdk_root / ".install" / name).read_text()
    except OSError:
        return {}
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def install_command(sdk_root, component):
    """Return the one command that installs a component into this CLI."""
    if not package_managed(sdk_root):
        return f"gcloud components install {component}"
    # What gcloud itself prints when it refuses: the package from
    # component_mapping.yaml in the command_mapping.yaml "update" template.
    packages = sdk_mapping(sdk_root, "component_mapping.yaml")
    commands = sdk_mapping(sdk_root, "command_mapping.yaml")
    template = commands.get("update", "sudo apt-get install {package}")
    return template.format(package=packages.get(component, COMPONENTS[component]))


def parse_java_version(text):
    """Return the major version that `java -version` printed, or None."""
    # Read as gcloud reads it (command_lib/util/java.py RequireJavaInstalled):
    # "1.8.0_401" is 8; "17.0.15", "21" and "21-ea" are 17, 21 and 21.
    legacy = re.search(r'version "1\.(\d+)', text)
    match = legacy or re.search(r'version "([1-9]\d*)', text)
    return int(match.group(1)) if match else None


def java_version(java):
    """Return the major version of a java executable, or None if it cannot say."""
    try:
        done = subprocess.run(
            [java, "-version"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode:  # gcloud calls this java unusable
        return None
    return parse_java_version(done.stderr + done.stdout)


def java_problem():
    """Return a line if Java is absent, below 11, or of unknown version."""
    need = f"Java {MIN_JAVA} or newer (the Datastore emulator runs on it)"
    install = "install a JDK, e.g. 'apt-get install default-jre-headless'"
    java = shutil.which("java")
    if java is None:
        return f"missing: {need}; {install}"
    version = java_version(java)
    if version is None:  # gcloud refuses to start the emulator on it too
        return f"could not tell the version of {java} ('java -version'); need {need}"
    if version < MIN_JAVA:
        return f"missing: {need}; found Java {version} at {java}; {install}"
    return None


def missing():
    """Return one line for each prerequisite that is not installed."""
    problems = []
    if sys.version_info < (3, 11):  # noqa: UP036 (checked at run time)
        version = ".".join(map(str, sys.version_info[:3]))
        problems.append(
            f"missing: Python 3.11 or newer (this is {version}); "
            "install it from https://www.python.org/downloads/"
        )
    sdk_root = find_sdk_root()
    if sdk_root is None:
        problems.append(
            f"missing: the Google Cloud CLI (gcloud); install it from {INSTALL_CLI}"
        )
    else:
        for component in COMPONENTS:
            if not has_component(sdk_root, component):
                problems.append(
                    f"missing: the Google Cloud CLI component {component}; "
                    f"run '{install_command(sdk_root, component)}'"
                )
    java = java_problem()
    if java:
        problems.append(java)
    return problems


def main():
    """Print what is missing and exit 1, or exit 0 quietly."""
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()
    problems = missing()
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
