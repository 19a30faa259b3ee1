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

"""Create or update a cached virtual environment from requirements files.

Usage: python3 scripts/ensure_venv.py DIR REQUIREMENTS [REQUIREMENTS ...]

Installs the files into the environment DIR with pip, and records what it
installed in DIR/installed.txt. When neither the files nor the Python version
changed since, it does nothing, so a later call returns at once.
"""

import argparse
import hashlib
import subprocess
import sys
import venv
from pathlib import Path


def fingerprint(requirements):
    """Hash the requirement files (and what they include) and this Python."""
    digest = hashlib.sha256(sys.version.encode())
    for path in requirements:
        digest.update(path.read_bytes())
        for line in path.read_text().splitlines():
            if line.startswith("-r "):
                digest.update((path.parent / line[3:].strip()).read_bytes())
    return digest.hexdigest()


def ensure(folder, requirements):
    """Make folder a venv with requirements installed; skip if up to date."""
    stamp = folder / "installed.txt"
    wanted = fingerprint(requirements)
    if stamp.exists() and stamp.read_text() == wanted:
        return
    print(
        f"Installing {', '.join(map(str, requirements))} into {folder} ...", flush=True
    )
    venv.create(folder, with_pip=True, clear=folder.exists())
    command = [
        str(folder / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "-q",
        "--disable-pip-version-check",
    ]
    for path in requirements:
        command += ["-r", str(path)]
    subprocess.run(command, check=True)
    stamp.write_text(wanted)


def main():
    """Parse the command line and bring the environment up to date."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="the environment's folder")
    parser.add_argument(
        "requirements", type=Path, nargs="+", help="pip requirements files"
    )
    args = parser.parse_args()
    for path in args.requirements:
        if not path.is_file():
            parser.error(f"no such requirements file: {path}")
    try:
        ensure(args.folder, args.requirements)
    except subprocess.CalledProcessError:
        print(
            f"error: pip could not install into {args.folder} (see above)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
