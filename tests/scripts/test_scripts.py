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

"""The scripts' command lines: help, bad input, missing prerequisites."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import launch
import prereqs
from stage import Stage

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = [
    "launch.py",
    "prereqs.py",
    "ensure_venv.py",
    "diff-stages",
    "bench.py",
    "verify",
    "stages.py",
    "check_runtime.py",
    "queue_commands.py",
    "deploy",
]


def run(*args, env=None, cwd=REPO):
    """Run a command; return (exit code, stdout, stderr)."""
    done = subprocess.run(
        args, capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )
    return done.returncode, done.stdout, done.stderr


def bare_path(tmp_path):
    """An environment whose PATH holds only this Python: no gcloud, no java."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "python3").symlink_to(sys.executable)
    return {**os.environ, "PATH": str(folder)}


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_has_help(script):
    code, out, _ = run(sys.executable, f"scripts/{script}", "--help")

    assert code == 0
    assert "usage:" in out


def test_prereqs_pass_on_this_machine():
    assert run(sys.executable, "scripts/prereqs.py") == (0, "", "")


def test_prereqs_name_each_missing_tool_in_one_line(tmp_path):
    code, out, err = run(sys.executable, "scripts/prereqs.py", env=bare_path(tmp_path))

    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 2
    assert "missing: the Google Cloud CLI (gcloud)" in lines[0]
    assert "cloud.google.com/sdk/docs/install" in lines[0]
    assert "missing: Java" in lines[1]


@pytest.mark.parametrize("target", ["run", "test"])
def test_make_stops_at_once_without_prerequisites(tmp_path, target):
    env = bare_path(tmp_path)
    (tmp_path / "bin" / "make").symlink_to(shutil.which("make"))

    code, _, err = run("make", "--no-print-directory", target, env=env)

    assert code != 0
    assert "missing: the Google Cloud CLI (gcloud)" in err
    assert "Traceback" not in err


def test_launch_refuses_a_folder_that_is_not_a_stage(tmp_path):
    code, out, err = run(sys.executable, "scripts/launch.py", str(tmp_path))

    assert code == 1
    assert err.strip().count("\n") == 0
    assert "is not a stage folder" in err


@pytest.mark.parametrize("value", ["eighty", "²", "٨٠", "99999", "0", "-1"])
def test_launch_refuses_a_bad_port(value):
    env = {**os.environ, "PORT": value}

    code, _, err = run(sys.executable, "scripts/launch.py", "mod7-gaetasks", env=env)

    assert code == 1
    assert err == f"error: PORT must be a port number (1-65535), not {value!r}\n"


def test_route_a_is_refused_for_a_stage_already_on_cloud_tasks():
    code, _, err = run(
        sys.executable, "scripts/launch.py", "--tasks=cloud", "mod8-cloudtasks"
    )

    assert code == 1
    assert err == (
        "error: TASKS=cloud is route A, for a stage on the bundled services; "
        "mod8-cloudtasks uses Cloud Tasks already\n"
    )


def test_holding_push_tasks_is_refused_where_cloud_tasks_has_them():
    code, _, err = run(
        sys.executable, "scripts/launch.py", "--hold-push-tasks", "mod9-py3"
    )

    assert code == 1
    assert err.startswith("error: --hold-push-tasks is for App Engine's push queue")
    assert err.count("\n") == 1


def test_launch_help_lists_every_port_it_uses():
    _, out, _ = run(sys.executable, "scripts/launch.py", "--help")

    for name in launch.PORTS:
        assert re.search(rf"^  {name} +.*, default \d+$", out, re.MULTILINE), name
    assert "GOOGLE_CLOUD_PROJECT" in out


def test_a_stage_stopped_before_it_started_is_no_error(tmp_path):
    Stage("mod8-cloudtasks", tmp_path / "never.log").stop()


def test_the_sdk_root_is_looked_up_once(tmp_path, monkeypatch):
    # A gcloud that is not inside its SDK folder makes prereqs ask it where
    # the SDK is: a second or so each time.
    asked = tmp_path / "asked"
    gcloud = tmp_path / "bin" / "gcloud"
    gcloud.parent.mkdir()
    gcloud.write_text(f"#!/bin/sh\necho >> {asked}\necho {tmp_path}\n")
    gcloud.chmod(0o755)
    monkeypatch.setenv("PATH", str(gcloud.parent))
    prereqs.find_sdk_root.cache_clear()
    try:
        found = [prereqs.find_sdk_root() for _ in range(3)]
    finally:
        prereqs.find_sdk_root.cache_clear()

    assert found == [tmp_path] * 3
    assert asked.read_text() == "\n"


def test_launch_refuses_a_malformed_env_option():
    code, _, err = run(
        sys.executable, "scripts/launch.py", "--env", "NOEQUALS", "mod7-gaetasks"
    )

    assert code == 2
    assert "--env takes KEY=VALUE" in err


def test_ensure_venv_refuses_a_missing_requirements_file(tmp_path):
    code, _, err = run(
        sys.executable,
        "scripts/ensure_venv.py",
        str(tmp_path / "env"),
        str(tmp_path / "nope.txt"),
    )

    assert code == 2
    assert "no such requirements file" in err
    assert not (tmp_path / "env").exists()


@pytest.mark.servers
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_launch_stops_every_server_on_ctrl_c_or_sigterm(tmp_path, stop_signal):
    # Started in the background, as a shell with no job control does it: SIGINT
    # ignored on entry, so the launcher must handle Ctrl-C itself.
    env = {**os.environ, **launch.free_ports()}
    log = tmp_path / "launch.log"
    with log.open("w") as out:
        launcher = subprocess.Popen(
            [sys.executable, "scripts/launch.py", "mod8-cloudtasks"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
        )
        try:
            deadline = time.monotonic() + 120
            while "is ready" not in log.read_text() and time.monotonic() < deadline:
                assert launcher.poll() is None, log.read_text()[-2000:]
                time.sleep(0.2)

            launcher.send_signal(stop_signal)

            assert launcher.wait(30) == 0
        finally:
            if launcher.poll() is None:  # failed: still stop what it started
                launcher.terminate()
                launcher.wait(30)
    assert "Stopped every server" in log.read_text()
    for name in ("PORT", "DATASTORE_EMULATOR_PORT", "TASKS_EMULATOR_PORT"):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", int(env[name]))) != 0, name


@pytest.mark.parametrize(
    "entrypoint, options",
    [
        (None, ["main:app"]),  # App Engine's default: gunicorn serving main:app
        (
            "gunicorn -b :$PORT --workers 1 --threads 2 main:app",
            ["--workers", "1", "--threads", "2", "main:app"],
        ),
        ("gunicorn -b:$PORT main:app  # serve it", ["main:app"]),
        ('"gunicorn --bind :$PORT main:app"', ["main:app"]),
        ("gunicorn --bind=:$PORT main:app", ["main:app"]),
    ],
)
def test_the_launcher_serves_app_yamls_gunicorn_entrypoint_locally(
    entrypoint, options, tmp_path
):
    app_yaml = tmp_path / "app.yaml"
    app_yaml.write_text(
        "runtime: python314\n" + (f"entrypoint: {entrypoint}\n" if entrypoint else "")
    )

    assert launch.gunicorn_options(app_yaml, 8123) == [
        "--bind=127.0.0.1:8123",
        "--access-logfile=-",
        *options,
    ]


def test_the_launcher_refuses_an_entrypoint_that_is_not_gunicorn(tmp_path):
    app_yaml = tmp_path / "app.yaml"
    app_yaml.write_text("runtime: python314\nentrypoint: uwsgi --http :$PORT\n")

    with pytest.raises(launch.LaunchError, match="serves gunicorn entrypoints"):
        launch.gunicorn_options(app_yaml, 8123)
