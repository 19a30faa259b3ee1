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

"""The walkthrough cannot rot: every command a README shows is run or checked.

Local commands are run as a learner runs them. Deploy commands (gcloud) cannot
run here, so each is checked against the installed Google Cloud CLI: its
command exists, and every flag it uses is in that command's --help.
"""

import os
import re
import shlex
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

import launch
import stages

REPO = Path(__file__).resolve().parents[2]
READMES = sorted([REPO / "README.md", *REPO.glob("mod*/README.md")])


def readme_commands():
    """Return (readme, command) for each command in the READMEs' sh blocks."""
    commands = []
    for readme in READMES:
        blocks = re.findall(r"```sh\n(.*?)```", readme.read_text(), re.DOTALL)
        for block in blocks:
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split(" # ", 1)[0].strip()
                if found := re.fullmatch(r"[A-Z_]+=\$\((.*)\)", line):
                    line = found.group(1)  # a gcloud call in $( )
                if line:
                    commands.append((readme.relative_to(REPO).as_posix(), line))
    return commands


def kind(command):
    """Say how a README command is tested."""
    words = command.split()
    if words[:2] == ["make", "run"]:
        return "run"
    if words[:2] in (["make", "test"], ["make", "check"]):
        return words[1]
    if words[0] == "gcloud":
        return "gcloud"
    if words[:3] == ["git", "diff", "--no-index"]:
        return "git-diff"
    if words[:2] == ["make", "diff"] or words[0] == "scripts/diff-stages":
        return "diff"
    if words[0] == "cd" and (REPO / words[1]).is_dir():
        return "cd"
    if words[:2] == ["make", "verify"]:
        return "verify"
    if words[0] == "scripts/deploy" and "--dry-run" in words:
        return "deploy"
    return "unknown"


COMMANDS = readme_commands()


def test_every_readme_command_is_covered_here():
    unknown = [(readme, c) for readme, c in COMMANDS if kind(c) == "unknown"]

    assert len(COMMANDS) >= 15
    assert not unknown, f"teach this test how to check: {unknown}"


def test_make_test_is_what_ci_runs():
    # This test runs inside `make test` itself; CI runs exactly that command.
    assert "\nmake test\n" in (REPO / ".ci" / "run").read_text()


def make_plan(target):
    """The commands `make TARGET` would run, as make -n prints them."""
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", target],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("MAKE")},
    )
    assert done.returncode == 0, done.stderr
    return " ".join(done.stdout.replace("\\\n", " ").split())


def test_make_check_is_lint_types_unit_and_the_tests_that_start_no_stage():
    # Run inside make test, so not run itself here: what it would run instead.
    plan = make_plan("check")

    for part in ("ruff check", "ruff format --check", "mypy --strict", "pytest -q"):
        assert part in plan
    assert '-m "not servers" tests/scripts tests/docs' in plan
    assert "tests/contract" not in plan


def test_make_test_runs_everything_make_check_leaves_out():
    plan = make_plan("test")

    for name in [stage.name for stage in stages.repository_stages()] + ["other"]:
        assert f"--stage={name} " in plan
    assert plan.count("tests/contract tests/scripts tests/docs") == 5
    assert "not servers" not in plan
    assert "notebooks.py check" in plan


def run_stage(command):
    """The stage a `make run` command serves: MODULE (default: the newest),
    on route A (NAME+cloudtasks) with TASKS=cloud."""
    settings = dict(word.split("=", 1) for word in command.split()[2:])
    name = settings.get("MODULE", stages.repository_stages()[-1].name)
    return f"{name}+cloudtasks" if settings.get("TASKS") == "cloud" else name


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(c, marks=pytest.mark.servers(run_stage(c)))
        for c in sorted({c for _, c in COMMANDS if kind(c) == "run"})
    ],
)
def test_make_run_serves_the_stage_and_ctrl_c_stops_it(command, tmp_path):
    ports = launch.free_ports()
    log = tmp_path / "run.log"
    with log.open("w") as out:
        # A session of its own, so Ctrl-C can go to the whole group, as a
        # terminal sends it to make and everything make started.
        make = subprocess.Popen(
            shlex.split(command),
            cwd=REPO,
            env={**os.environ, **ports},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 180
            while "is ready" not in log.read_text() and time.monotonic() < deadline:
                assert make.poll() is None, log.read_text()[-2000:]
                time.sleep(0.2)
            url = f"http://127.0.0.1:{ports['PORT']}/"
            status = urllib.request.urlopen(url, timeout=30).status
            os.killpg(make.pid, signal.SIGINT)
            make.wait(30)
        finally:
            if make.poll() is None:
                os.killpg(make.pid, signal.SIGKILL)
                make.wait()
    settings = dict(word.split("=", 1) for word in shlex.split(command)[2:])
    expected = settings.get("MODULE", stages.repository_stages()[-1].name)
    if settings.get("TASKS") == "cloud":
        expected += "+cloudtasks"
    assert f"VisitMe {expected} is ready" in log.read_text()
    assert status == 200
    assert "Stopped every server this launch started." in log.read_text()


@pytest.mark.parametrize(
    "command", sorted({c for _, c in COMMANDS if kind(c) in ("diff", "git-diff")})
)
def test_diff_commands_show_a_diff(command):
    done = subprocess.run(
        shlex.split(command), cwd=REPO, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == (1 if kind(command) == "git-diff" else 0), done.stderr
    assert "\n+++ b/" in done.stdout  # a unified diff of at least one file


@pytest.mark.parametrize(
    "command", sorted({c for _, c in COMMANDS if kind(c) == "gcloud"})
)
def test_gcloud_command_and_its_flags_exist(command, missing_gcloud_flags):
    words = shlex.split(command)
    args = [word for word in words[1:] if not word.startswith("--")]

    missing = missing_gcloud_flags(args, words)

    assert not missing, f"{command}: no such flag {missing}"


@pytest.mark.servers
@pytest.mark.timeout(900)  # a whole contract run against one stage
@pytest.mark.parametrize(
    "command", sorted({c for _, c in COMMANDS if kind(c) == "verify"})
)
def test_verify_passes_on_the_stage_it_names(command):
    done = subprocess.run(
        shlex.split(command), cwd=REPO, capture_output=True, text=True, timeout=600
    )

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-1000:]
    assert "All checked SPEC items pass" in done.stdout


def deploy_words(words, stage):
    """A deploy command's words, as run by hand from the stage's folder: no
    --project (the by-hand steps set it once), paths without the folder."""
    return [
        word.removeprefix(f"{stage.folder.name}/")
        for word in words
        if not word.startswith("--project=")
    ]


def by_hand_steps(block, project):
    """The commands of a README's by-hand deploy block, as words."""
    steps = []
    for line in block.replace("\\\n", " ").splitlines():
        line = line.strip()
        if line.startswith("gcloud config set project") or line.startswith(
            "PROJECT_ID=$(gcloud config get-value project)"
        ):
            continue  # how the by-hand steps name the project
        if found := re.fullmatch(r"[A-Z_]+=\$\((.*)\)", line):
            line = found.group(1)
        if line:
            words = shlex.split(line)
            steps.append([project if w == "$PROJECT_ID" else w for w in words])
    return steps


DEPLOYS = [
    (readme, command) for readme, command in COMMANDS if kind(command) == "deploy"
]
# A stage README follows its deploy command with the same steps by hand.
STAGE_DEPLOYS = [(readme, c) for readme, c in DEPLOYS if readme.startswith("mod")]


@pytest.mark.parametrize("readme, command", DEPLOYS)
def test_deploy_dry_runs_print_the_steps(readme, command):
    words = shlex.split(command.replace("YOUR_PROJECT_ID", "your-project-id"))
    done = subprocess.run(words, cwd=REPO, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert f"# Deploy {words[1]} to project your-project-id" in done.stdout


def test_every_stage_readme_shows_its_deploy():
    shown = {shlex.split(command)[1] for _, command in STAGE_DEPLOYS}

    assert shown == {stage.name for stage in stages.repository_stages()}


@pytest.mark.parametrize("readme, command", STAGE_DEPLOYS)
def test_the_by_hand_deploy_steps_are_what_scripts_deploy_runs(readme, command):
    # The sh block after the scripts/deploy command lists its steps by hand.
    text = (REPO / readme).read_text()
    after = text[text.index(command) :]
    block = re.search(r"```sh\n(.*?)```", after[after.index("```") + 3 :], re.DOTALL)
    project = "your-project-id"
    words = shlex.split(command.replace("YOUR_PROJECT_ID", project))
    stage = stages.load(words[1])
    done = subprocess.run(words, cwd=REPO, capture_output=True, text=True, timeout=120)
    script = [
        line
        for line in done.stdout.splitlines()
        if line.startswith("gcloud") or line.startswith("SERVICE_ACCOUNT=")
    ]

    assert done.returncode == 0, done.stderr
    assert by_hand_steps(block.group(1), project) == [
        deploy_words(words, stage)
        for words in by_hand_steps("\n".join(script), project)
    ]
