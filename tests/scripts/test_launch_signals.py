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

"""`make run` stopped as a user stops it leaves nothing running: a small
version of `make stress` (scripts/stress_launch.py), one round per stop on
the finished stage; and what make passes to the launcher."""

import os
import subprocess
from pathlib import Path

import pytest

import launch
import stages
import stress_launch

REPO = stages.REPO


def app_environment(records):
    """The environment of the app's gunicorn, read from /proc."""
    for record in records:
        for server in record["servers"]:
            if "gunicorn" in server["command"]:
                environ = Path(f"/proc/{server['pid']}/environ").read_bytes()
                return dict(
                    item.decode().split("=", 1)
                    for item in environ.split(b"\0")
                    if b"=" in item
                )
    raise AssertionError(f"no gunicorn among {records}")


@pytest.mark.servers("mod9-py3")
@pytest.mark.parametrize("stop", ["double", "kill"])
def test_a_stopped_make_run_leaves_nothing_listening(stop, tmp_path):
    # double: the terminal closed (SIGHUP), then SIGTERM to make's group, which
    # make forwards too; kill: the launcher killed, then `make stop`. make
    # stress runs every stop on every kind of stage.
    seen = {}

    left, _ = stress_launch.one_round(
        "mod9-py3",
        stop,
        tmp_path / "run",
        tmp_path / "launch.log",
        traffic_s=1.0,
        make_args=["TRIM_SLACK=0"],
        check=lambda records: seen.update(app_environment(records)),
    )

    assert left == "", (tmp_path / "launch.log").read_text()[-3000:]
    assert seen["TRIM_SLACK"] == "0"  # make run TRIM_SLACK=0 reaches the app
    if stop != "kill":
        assert (
            "Stopped every server this launch started."
            in (tmp_path / "launch.log").read_text()
        )


def make_run_command(*variables):
    """The launcher command `make run` runs with these variables (make -n)."""
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "run", *variables],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()


def test_make_run_passes_a_route_a_module_as_it_is():
    assert make_run_command("MODULE=mod7-gaetasks+cloudtasks")[-1] == (
        "mod7-gaetasks+cloudtasks"
    )


def test_a_route_a_module_is_the_same_launch_as_tasks_cloud():
    plus = launch.resolve_stage("mod7-gaetasks+cloudtasks")
    flag = launch.resolve_stage("mod7-gaetasks", tasks="cloud")

    assert (plus.name, plus.kind, plus.app_yaml) == (
        flag.name,
        flag.kind,
        flag.app_yaml,
    )
    assert plus.kind == stages.ROUTE_A


def test_make_run_passes_trim_slack_only_when_given():
    assert "--env=TRIM_SLACK=0" in make_run_command("MODULE=mod9-py3", "TRIM_SLACK=0")
    assert not any("TRIM_SLACK" in word for word in make_run_command("MODULE=mod9-py3"))


def test_make_stop_with_nothing_running_says_so(tmp_path):
    done = subprocess.run(
        ["make", "--no-print-directory", "stop"],
        cwd=REPO,
        env={**os.environ, "VISITME_RUN_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
    )

    assert (done.returncode, done.stdout) == (
        0,
        "No launch of this repository is running.\n",
    )
