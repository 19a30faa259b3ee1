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

"""scripts/rehearse.py stops every server it started, also when interrupted,
and refuses bad input in one line. The rehearsals themselves run in
tests/contract/test_switch_over.py."""

import os
import signal
import subprocess
import sys
import time

import pytest

import launch_state
import stages

REHEARSE = [sys.executable, str(stages.REPO / "scripts" / "rehearse.py")]


def processes_marked(launch_id):
    """The pids of the processes whose environment carries this launch's id."""
    return [
        pid
        for pid in map(int, filter(str.isdigit, os.listdir("/proc")))
        if launch_state.carries(pid, launch_id)
    ]


@pytest.mark.servers
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGHUP])
def test_an_interrupted_rehearsal_leaves_nothing_running(tmp_path, signum):
    env = {**os.environ, "VISITME_RUN_DIR": str(tmp_path)}
    rehearsal = subprocess.Popen(
        [*REHEARSE, "mod8-cloudtasks", "mod9-py3"],
        cwd=stages.REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.2)  # its first server is recorded
    [record] = [launch_state.read(path) for path in tmp_path.glob("*.json")]
    time.sleep(3)  # the emulators starting, a stage perhaps too

    rehearsal.send_signal(signum)
    out, _ = rehearsal.communicate(timeout=120)

    assert rehearsal.returncode == 130, out
    assert "Stopped every server this rehearsal started." in out
    assert processes_marked(record["id"]) == []
    assert not list(tmp_path.glob("*.json"))


@pytest.mark.parametrize(
    "args, says",
    [
        (["nowhere", "mod8-cloudtasks"], "error: nowhere is not a stage folder"),
        (
            ["mod8-cloudtasks", "mod9-py3", "--timeline=/no/such/folder/t.json"],
            "error: --timeline: no folder /no/such/folder",
        ),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(args, says):
    done = subprocess.run(
        [*REHEARSE, *args], cwd=stages.REPO, capture_output=True, text=True
    )

    assert done.returncode == 2
    assert done.stderr.startswith(says) and done.stderr.count("\n") == 1
    assert done.stdout == ""
