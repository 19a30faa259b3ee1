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

"""The one place that knows what a stage is: its folder, kind, order and venvs.

Usage: python3 scripts/stages.py [--format TEMPLATE] [NAME ...]

Prints the repository's stages in teaching order, one line each; TEMPLATE
(default "{name}") may use {name}, {folder}, {kind}, {number}, {venv},
{python} and {runtime_python}. With NAMEs, prints those folders instead (any
folder laid out like a stage). A folder that is not a stage exits 2 with one
line.

A module too: launch.py, stage.py, bench.py, verify, diff-stages, the Makefile
and the tests all ask it. It uses the standard library only, so that
launch.py can use it before any virtual environment exists. Adding a stage is
its folder plus one line in NAMES.
"""

import argparse
import dataclasses
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENVS = REPO / ".venv"

# The repository's stages; they are listed in numeric order whatever the order here.
NAMES = ("mod7-gaetasks", "mod8-cloudtasks", "mod9-py3")

# Kinds, by the local stack a stage needs.
BUNDLED = "bundled"  # `app_engine_apis: true`: dev_appserver.py
CLOUD = "cloud"  # Cloud NDB + Cloud Tasks: the Datastore and Tasks emulators

FIELDS = ("name", "folder", "kind", "number", "venv", "python", "runtime_python")
BUNDLED_APIS = re.compile(r"^app_engine_apis:\s*true\b", re.MULTILINE)
RUNTIME = re.compile(r"""^runtime:\s*["']?([\w.-]+)["']?\s*(?:#.*)?$""", re.MULTILINE)


class NotAStage(Exception):
    """A folder that is not laid out like a stage, told in one line."""


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage folder, as the scripts and tests see it."""

    folder: Path

    @property
    def name(self):
        """The folder's name, e.g. mod8-cloudtasks."""
        return self.folder.name

    @property
    def number(self):
        """The module number in the name (mod8-... is 8), for ordering; else 0."""
        found = re.match(r"mod(\d+)", self.name)
        return int(found.group(1)) if found else 0

    @property
    def kind(self):
        """BUNDLED or CLOUD, from app.yaml."""
        app_yaml = (self.folder / "app.yaml").read_text()
        return BUNDLED if BUNDLED_APIS.search(app_yaml) else CLOUD

    @property
    def runtime(self):
        """Its App Engine runtime from app.yaml, e.g. python314; None if unset."""
        found = RUNTIME.search((self.folder / "app.yaml").read_text())
        return found.group(1) if found else None

    @property
    def runtime_python(self):
        """The Python version of a python3NN runtime, e.g. 3.14; else None."""
        found = re.fullmatch(r"python3(\d+)", self.runtime or "")
        return f"3.{found.group(1)}" if found else None

    @property
    def venv(self):
        """The virtual environment of its unit tests and, for CLOUD, its app."""
        return VENVS / self.name

    @property
    def devappserver_venv(self):
        """The folder dev_appserver keeps its own environment in (BUNDLED)."""
        return VENVS / f"devappserver-{self.name}"

    @property
    def python(self):
        """The Python the running app uses (dev_appserver's for module default)."""
        if self.kind == BUNDLED:
            return self.devappserver_venv / "default" / "bin" / "python"
        return self.venv / "bin" / "python"

    @property
    def app_env(self):
        """The environment folder the app runs from, made on its first start."""
        return self.devappserver_venv if self.kind == BUNDLED else self.venv


def load(path):
    """Return the Stage at path (a name or a folder); raise NotAStage if it is not."""
    folder = (REPO / path) if not Path(path).is_absolute() else Path(path)
    folder = folder.resolve()
    if not (folder / "app.yaml").is_file():
        raise NotAStage(f"{folder.name} is not a stage folder: it has no app.yaml")
    if not (folder / "main.py").is_file():
        raise NotAStage(f"{folder.name} is not a stage folder: it has no main.py")
    return Stage(folder)


def in_order(found):
    """Return stages oldest first, by module number (mod7 before mod10)."""
    return sorted(found, key=lambda stage: (stage.number, stage.name))


def repository_stages():
    """Return the repository's stages, oldest first."""
    return in_order(load(name) for name in NAMES)


def main(argv=None):
    """Print the stages, or the named folders, one line each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="stage folders")
    parser.add_argument("--format", default="{name}", help='default: "{name}"')
    args = parser.parse_args(argv)
    try:
        stages = [load(n) for n in args.names] if args.names else repository_stages()
        lines = [
            args.format.format(**{field: getattr(s, field) for field in FIELDS})
            for s in stages
        ]
    except NotAStage as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (KeyError, ValueError, IndexError) as err:
        print(
            f"error: --format takes fields {', '.join(FIELDS)}: {err}", file=sys.stderr
        )
        return 2
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
