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
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = ["launch.py", "prereqs.py", "ensure_venv.py"]


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


def test_launch_refuses_a_bad_port():
    env = {**os.environ, "PORT": "eighty"}

    code, _, err = run(sys.executable, "scripts/launch.py", "mod7-gaetasks", env=env)

    assert code == 1
    assert err.strip() == "error: PORT must be a port number (1-65535), not 'eighty'"


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
