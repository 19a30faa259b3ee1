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

"""What a launch records, and which processes a later launch or `make stop`
stops: only the ones this repository started. Real processes (`sleep`)
stand in for servers; a recycled pid is a live process the record names
with another start time."""

import os
import socket
import subprocess
import sys
import time

import pytest

import launch
import launch_state


@pytest.fixture(autouse=True)
def run_dir(tmp_path, monkeypatch):
    """Keep the records of these tests in tmp_path, away from real launches."""
    monkeypatch.setattr(launch_state, "RUN_DIR", tmp_path / "run")
    return tmp_path / "run"


@pytest.fixture
def processes():
    """Start sleeping processes on demand; kill whatever is left at the end."""
    started = []

    def sleeper(marker=None, session=True):
        env = {**os.environ}
        if marker:
            env[launch_state.MARKER] = marker
        process = subprocess.Popen(["sleep", "60"], env=env, start_new_session=session)
        started.append(process)
        return process

    yield sleeper
    for process in started:
        process.kill()
        process.wait()


def record(identity, launcher_pid, launcher_started, *servers):
    """Write a launch record naming these (process, start time) servers."""
    entry = {
        "id": identity,
        "pid": launcher_pid,
        "started": launcher_started,
        "name": "mod9-py3",
        "servers": [
            {"pid": p.pid, "started": started, "command": "sleep 60"}
            for p, started in servers
        ],
    }
    launch_state.write(entry)
    return entry


def gone_launcher():
    """Return (pid, start time) of a launcher that has exited."""
    process = subprocess.Popen(["sleep", "0"])
    started = launch_state.process_info(process.pid)
    process.wait()
    return process.pid, started[1] if started else 0


def start_time(process):
    """The start time /proc gives a running process."""
    return launch_state.process_info(process.pid)[1]


def test_a_gone_launchs_server_is_stopped_by_a_later_start(processes, run_dir):
    server = processes(marker="L1")
    pid, started = gone_launcher()
    record("L1", pid, started, (server, start_time(server)))

    lines = launch_state.clear_stale()

    assert server.wait(10) is not None
    assert lines == [
        "Stopped 1 process(es) that an earlier launch of mod9-py3 "
        f"(pid {pid}) left running."
    ]
    assert not list(run_dir.glob("*.json"))


def test_a_stale_record_of_nothing_running_is_dropped_quietly(run_dir):
    pid, started = gone_launcher()
    record("L2", pid, started, (subprocess.Popen(["true"]), 12345))

    assert launch_state.clear_stale() == []
    assert not list(run_dir.glob("*.json"))


def test_a_recycled_pid_that_is_not_ours_is_left_alone(processes):
    stranger = processes(marker="L3")  # same pid as recorded, other start time
    pid, started = gone_launcher()
    entry = record("L3", pid, started, (stranger, start_time(stranger) - 1))

    launch_state.clear_stale()
    launch_state.stop_everything(timeout=1)

    assert stranger.poll() is None
    assert launch_state.leftovers(entry) == []


def test_a_process_without_the_launchs_marker_is_left_alone(processes):
    unmarked = processes()  # in the recorded session, but not carrying the id
    pid, started = gone_launcher()
    record("L4", pid, started, (unmarked, start_time(unmarked)))

    launch_state.clear_stale()

    assert unmarked.poll() is None


def test_a_running_launch_is_left_alone_by_a_later_start(processes):
    launcher = processes()
    server = processes(marker="L5")
    record("L5", launcher.pid, start_time(launcher), (server, start_time(server)))

    assert launch_state.clear_stale() == []

    assert server.poll() is None


def test_make_stop_stops_a_running_launch_and_its_servers(processes, run_dir):
    launcher = processes()
    server = processes(marker="L6")
    record("L6", launcher.pid, start_time(launcher), (server, start_time(server)))

    lines, everything = launch_state.stop_everything(timeout=10)

    assert launcher.wait(10) is not None and server.wait(10) is not None
    assert everything
    assert lines == [
        f"Stopped the launch of mod9-py3 (pid {launcher.pid}) and 1 process(es) "
        "it left running."
    ]
    assert not list(run_dir.glob("*.json"))


def test_a_half_written_record_is_ignored(run_dir):
    run_dir.mkdir()
    (run_dir / "x.json").write_text('{"id": "x", "servers": [')

    assert launch_state.launches() == []


def test_a_busy_port_is_named_and_not_stopped():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]

        with pytest.raises(launch.LaunchError) as error:
            launch.check_ports({"the app": port})

    assert str(error.value) == (
        f"port {port} (the app) is in use by pid {os.getpid()} "
        f"({launch_state.command_line(os.getpid())[:80]}), which this "
        "repository did not start"
    )


def test_a_port_held_by_a_running_launch_names_make_stop(processes):
    launcher = processes()
    code = (
        "import socket, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); "
        "s.listen(); print(s.getsockname()[1], flush=True); time.sleep(60)"
    )
    env = {**os.environ, launch_state.MARKER: "L7"}
    server = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        stdout=subprocess.PIPE,
        start_new_session=True,
        text=True,
    )
    try:
        port = int(server.stdout.readline())
        record("L7", launcher.pid, start_time(launcher), (server, start_time(server)))

        with pytest.raises(launch.LaunchError, match="stop it with: make stop"):
            launch.check_ports({"the app": port})
    finally:
        server.kill()
        server.wait()


def test_a_killed_launcher_s_servers_are_stopped_by_its_pid(processes, run_dir):
    # What stage.Stage.stop() does after it had to SIGKILL a launcher.
    server = processes(marker="L8")
    pid, started = gone_launcher()
    record("L8", pid, started, (server, start_time(server)))

    launch_state.stop_gone_launch(pid)

    assert server.wait(10) is not None
    assert not list(run_dir.glob("*.json"))


def test_a_child_with_an_environment_of_its_own_is_stopped_too(run_dir):
    # dev_appserver starts its instances so: they do not inherit the marker.
    parent = subprocess.Popen(
        ["sh", "-c", "env -i sleep 60 & wait"],
        env={**os.environ, launch_state.MARKER: "L9"},
        start_new_session=True,
    )
    try:
        pid, started = gone_launcher()
        entry = record("L9", pid, started, (parent, start_time(parent)))
        deadline = time.monotonic() + 5
        while len(launch_state.leftovers(entry)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        child = [p for p in launch_state.leftovers(entry) if p != parent.pid]

        launch_state.stop_gone_launch(pid)

        assert parent.wait(10) is not None
        assert child and launch_state.stat(child[0]) is None
    finally:
        parent.kill()
        parent.wait()
