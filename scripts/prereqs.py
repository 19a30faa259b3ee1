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
app-engine-python and cloud-datastore-emulator components, and Java are all
there. Otherwise prints one line per missing tool, naming it and how to
install it, and exits 1.
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

INSTALL_CLI = "https://cloud.google.com/sdk/docs/install"


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
        for component in ("app-engine-python", "cloud-datastore-emulator"):
            if not has_component(sdk_root, component):
                problems.append(
                    f"missing: the Google Cloud CLI component {component}; run "
                    f"'gcloud components install {component}' (or apt-get install "
                    f"google-cloud-cli-{component})"
                )
    if shutil.which("java") is None:
        problems.append(
            "missing: Java 11 or newer (the Datastore emulator runs on it); "
            "install a JDK, e.g. 'apt-get install default-jre-headless'"
        )
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
