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

"""What the docs' and the scripts' tests share: checking gcloud commands
against the installed Google Cloud CLI, which cannot run them here; and
running each stage's tests in a process of their own.

A test that starts servers is marked `servers` (`make check` leaves it out),
and `servers(NAME)` when it launches the stage NAME (the contract tests are
marked by tests/contract/conftest.py). `--stage=NAME` runs only the tests
marked servers(NAME); `--stage=other` only the others. `make test` runs one
pytest per stage and one for the others, side by side: each stage's launches
follow one another, as they must, since dev_appserver rebuilds its environment
folder when it starts and deletes it when it stops.
"""

import functools
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

import prereqs
import stages

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@functools.cache
def gcloud_surface():
    """The CLI's lib/surface folder, where each command is a module or a .yaml
    file in its group's folder; None if gcloud is absent."""
    sdk = prereqs.find_sdk_root()
    return sdk / "lib" / "surface" if sdk else None


def command_path(args):
    """The gcloud command that args start with, without the positional
    arguments after it: ("tasks", "queues", "create", "default") is
    ("tasks", "queues", "create"). So each command's help is asked once."""
    folder, path = gcloud_surface(), []
    if folder is None:
        return tuple(args)
    for word in args:
        name = word.replace("-", "_")
        if (folder / name).is_dir():
            folder = folder / name
            path.append(word)
        elif any((folder / f"{name}{ext}").is_file() for ext in (".py", ".yaml")):
            return (*path, word)
        else:
            break
    return tuple(args)  # not found as a command: let gcloud say so


def gcloud_help(args):
    """The text of `gcloud ARGS --help`, asked once per command."""
    return command_help(command_path(args))


@functools.cache
def command_help(args):
    """The text of `gcloud ARGS --help` for one command path."""
    done = subprocess.run(
        ["gcloud", *args, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CLOUDSDK_CORE_DISABLE_PROMPTS": "1", "PAGER": "cat"},
    )
    assert done.returncode == 0, done.stderr[-500:]
    return ANSI.sub("", done.stdout)


@pytest.fixture(scope="session")
def missing_gcloud_flags():
    """Return missing(args, words): the --flags in words that the help of
    `gcloud ARGS` does not list (an exact name, not a prefix of a longer one)."""

    def missing(args, words):
        flags = {word.split("=", 1)[0] for word in words if word.startswith("--")}
        text = gcloud_help(tuple(args))
        return sorted(f for f in flags if not re.search(rf"{f}(?![\w-])", text))

    return missing


@pytest.fixture(scope="session")
def prefetch_gcloud_help():
    """Return prefetch(args_list): ask the --help of many commands at once, a
    few side by side, so the checks that follow find each one cached."""

    def prefetch(args_list):
        paths = sorted({command_path(tuple(args)) for args in args_list})
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(command_help, paths))

    return prefetch


def pytest_addoption(parser):
    """Add --stage."""
    parser.addoption(
        "--stage",
        metavar="NAME",
        help="run only the tests that launch stage NAME (marked servers(NAME)); "
        "'other': only the tests that launch no named stage",
    )


def launch_group(item):
    """The stage a test launches (NAME of servers(NAME)), or "other"."""
    marker = item.get_closest_marker("servers")
    return marker.args[0] if marker and marker.args else "other"


def pytest_collection_modifyitems(config, items):
    """With --stage, keep only the tests of that launch group."""
    wanted = config.getoption("stage")
    if wanted is None:
        return
    names = [stage.name for stage in stages.repository_stages()]
    if wanted not in [*names, "other"]:
        raise pytest.UsageError(f"--stage: no stage {wanted!r} (one of {names})")
    keep = [item for item in items if launch_group(item) == wanted]
    config.hook.pytest_deselected(
        items=[item for item in items if launch_group(item) != wanted]
    )
    items[:] = keep


def pytest_sessionfinish(session, exitstatus):
    """With --stage, a stage with no test here is no error."""
    if (
        session.config.getoption("stage")
        and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED
    ):
        session.exitstatus = pytest.ExitCode.OK
