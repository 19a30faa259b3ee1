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

# The repository's stages, each with the stage it is a step from. NAME+VARIANT
# is a variant of a folder: the same folder served with app-VARIANT.yaml.
STEPS = {
    "mod7-gaetasks": None,
    "mod7-gaetasks+cloudtasks": "mod7-gaetasks",  # route A: one flag in app.yaml
    "mod8-cloudtasks": "mod7-gaetasks",  # route B: the Cloud client libraries
    "mod9-py3": "mod8-cloudtasks",
}
NAMES = tuple(STEPS)

# Kinds, by the local stack a stage needs.
BUNDLED = "bundled"  # `app_engine_apis: true`: dev_appserver.py
ROUTE_A = "route-a"  # ... with APPENGINE_USE_CLOUDTASK_PUSH_QUEUE: a Tasks emulator too
CLOUD = "cloud"  # Cloud NDB + Cloud Tasks: the Datastore and Tasks emulators

FIELDS = ("name", "folder", "kind", "number", "venv", "python", "runtime_python")
BUNDLED_APIS = re.compile(r"^app_engine_apis:\s*true\b", re.MULTILINE)
# appengine-python-standard turns route A on when the value, lowercased, is true.
CLOUDTASK_FLAG = re.compile(
    r"""^\s+APPENGINE_USE_CLOUDTASK_PUSH_QUEUE:\s*(["']?)true\1\s*(?:#.*)?$""",
    re.MULTILINE | re.IGNORECASE,
)
RUNTIME = re.compile(r"""^runtime:\s*["']?([\w.-]+)["']?\s*(?:#.*)?$""", re.MULTILINE)


class NotAStage(Exception):
    """A folder that is not laid out like a stage, told in one line."""


@dataclasses.dataclass(frozen=True)
class Stage:
    """One stage: a folder served with one of its app.yaml files."""

    folder: Path
    config: str = "app.yaml"

    @property
    def variant(self):
        """cloudtasks for app-cloudtasks.yaml; empty for app.yaml."""
        return self.config.removeprefix("app-").removesuffix(".yaml") * (
            self.config != "app.yaml"
        )

    @property
    def name(self):
        """The folder's name, e.g. mod8-cloudtasks, and +VARIANT for a variant."""
        return (
            f"{self.folder.name}+{self.variant}" if self.variant else self.folder.name
        )

    @property
    def app_yaml(self):
        """The configuration it is served and deployed with."""
        return self.folder / self.config

    @property
    def number(self):
        """The module number in the name (mod8-... is 8), for ordering; else 0."""
        found = re.match(r"mod(\d+)", self.name)
        return int(found.group(1)) if found else 0

    @property
    def kind(self):
        """BUNDLED, ROUTE_A or CLOUD, from its app.yaml."""
        app_yaml = self.app_yaml.read_text()
        if not BUNDLED_APIS.search(app_yaml):
            return CLOUD
        return ROUTE_A if CLOUDTASK_FLAG.search(app_yaml) else BUNDLED

    @property
    def on_devappserver(self):
        """Whether it runs under dev_appserver (the bundled services)."""
        return self.kind in (BUNDLED, ROUTE_A)

    @property
    def runtime(self):
        """Its App Engine runtime from app.yaml, e.g. python314; None if unset."""
        found = RUNTIME.search(self.app_yaml.read_text())
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
        """The folder dev_appserver keeps its own environment in."""
        return VENVS / f"devappserver-{self.name}"

    @property
    def python(self):
        """The Python the running app uses (dev_appserver's for module default)."""
        if self.on_devappserver:
            return self.devappserver_venv / "default" / "bin" / "python"
        return self.venv / "bin" / "python"

    @property
    def app_env(self):
        """The environment folder the app runs from, made on its first start."""
        return self.devappserver_venv if self.on_devappserver else self.venv

    @property
    def comes_from(self):
        """The repository stage it is a step from, or None."""
        return STEPS.get(self.name)


def load(path):
    """Return the Stage at path, a folder or a name (NAME+VARIANT for a variant);
    raise NotAStage if it is not one."""
    path = Path(path)
    name, _, variant = path.name.partition("+")
    folder = (path if path.is_absolute() else REPO / path).with_name(name).resolve()
    if variant:
        config = load(folder).folder / f"app-{variant}.yaml"
        if not config.is_file():
            raise NotAStage(f"{path.name} is not a stage: {name} has no {config.name}")
        return Stage(folder, config.name)
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


def steps():
    """Return each (from, to) step between the repository's stages, in order."""
    return [(load(stage.comes_from), stage) for stage in repository_stages()[1:]]


def folders():
    """Return each of the repository's stage folders once (variants share one)."""
    return [stage for stage in repository_stages() if not stage.variant]


def main(argv=None):
    """Print the stages, or the named folders, one line each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="stage folders")
    parser.add_argument("--format", default="{name}", help='default: "{name}"')
    parser.add_argument(
        "--folders", action="store_true", help="each folder once, without variants"
    )
    args = parser.parse_args(argv)
    try:
        if args.names:
            stages = [load(name) for name in args.names]
        else:
            stages = folders() if args.folders else repository_stages()
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
