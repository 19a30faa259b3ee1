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

import importlib.util
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
    if words[:2] == ["make", "rehearse"]:
        return "rehearse"
    if words[:2] == ["make", "doctor"]:
        return "doctor"
    if words[0] == "scripts/deploy" and "--dry-run" in words:
        return "deploy"
    if NEW_VERSION.fullmatch(command):
        return "version"
    return "unknown"


# How the by-hand deploy steps name a new version, as scripts/deploy does:
# the stage's name and the UTC time.
NEW_VERSION = re.compile(r"VERSION=([a-z0-9-]+)-\$\(date -u \+%Y%m%dt%H%M%S\)")


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
    assert '-m "not servers" tests/scripts tests/doctor tests/docs' in plan
    assert "tests/contract" not in plan


def test_make_test_runs_everything_make_check_leaves_out():
    plan = make_plan("test")

    for name in [stage.name for stage in stages.repository_stages()] + ["other"]:
        assert f"--stage={name} " in plan
    assert plan.count("tests/contract tests/scripts tests/doctor tests/docs") == 5
    assert "not servers" not in plan
    assert "notebooks.py check" in plan


def served(command):
    """Return (stage, other settings) that a `make run` command serves."""
    settings = dict(word.split("=", 1) for word in shlex.split(command)[2:])
    stage = settings.pop("MODULE", stages.repository_stages()[-1].name)
    if settings.pop("TASKS", None) == "cloud":
        stage += "+cloudtasks"
    return stage, tuple(sorted(settings.items()))


def run_commands():
    """One `make run` command for each thing they serve (`make run` and
    `make run MODULE=<the newest>` start the same stage: only the first runs)."""
    chosen = {}
    for command in sorted({c for _, c in COMMANDS if kind(c) == "run"}):
        chosen.setdefault(served(command), command)
    return sorted(chosen.values())


@pytest.mark.parametrize(
    "command",
    [pytest.param(c, marks=pytest.mark.servers(served(c)[0])) for c in run_commands()],
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
    expected, _ = served(command)
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


def gcloud_args(command):
    """The words of a README's gcloud command that are not flags."""
    return [word for word in shlex.split(command)[1:] if not word.startswith("--")]


@pytest.fixture(scope="module")
def every_readme_gcloud_help(prefetch_gcloud_help):
    """Ask gcloud for the help of every command the READMEs show, at once."""
    prefetch_gcloud_help([gcloud_args(c) for _, c in COMMANDS if kind(c) == "gcloud"])


@pytest.mark.parametrize(
    "command", sorted({c for _, c in COMMANDS if kind(c) == "gcloud"})
)
def test_gcloud_command_and_its_flags_exist(
    command, missing_gcloud_flags, every_readme_gcloud_help
):
    words = shlex.split(command)
    args = gcloud_args(command)

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


def rehearsed_pairs():
    """The (FROM, TO) names that tests/contract/test_switch_over.py rehearses."""
    path = REPO / "tests" / "contract" / "test_switch_over.py"
    spec = importlib.util.spec_from_file_location("test_switch_over", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {(old.name, new.name) for old, new in module.pairs()}


@pytest.mark.parametrize(
    "command", sorted({c for _, c in COMMANDS if kind(c) == "rehearse"})
)
def test_rehearse_commands_name_a_pair_the_contract_tests_rehearse(command):
    settings = dict(word.split("=", 1) for word in shlex.split(command)[2:])
    dry_run = subprocess.run(
        ["make", "-n", *shlex.split(command)[1:]],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (settings["FROM"], settings["TO"]) in rehearsed_pairs()
    assert f"scripts/rehearse.py {settings['FROM']} {settings['TO']}" in " ".join(
        dry_run.stdout.replace("\\\n", " ").split()
    )


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
        if line.startswith("VERSION="):
            continue  # the new version's name: compared on its own
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
    words = shlex.split(command)  # as written: a dry run needs no real project
    done = subprocess.run(words, cwd=REPO, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    project = next(w.split("=", 1)[1] for w in words if w.startswith("--project="))
    assert f"# Deploy {words[1]} to project {project}" in done.stdout


def test_every_stage_readme_shows_its_deploy():
    shown = {shlex.split(command)[1] for _, command in STAGE_DEPLOYS}

    assert shown == {stage.name for stage in stages.repository_stages()}


def sh_blocks(text):
    """The sh blocks of a Markdown text, in order."""
    return re.findall(r"```sh\n(.*?)```", text, re.DOTALL)


@pytest.mark.parametrize("readme, command", STAGE_DEPLOYS)
def test_the_by_hand_deploy_steps_are_what_scripts_deploy_runs(readme, command):
    # The sh block after the scripts/deploy command lists its steps by hand
    # for a new project; the next block that starts with OLD_VERSION= lists
    # the switch-over, when an earlier stage serves.
    text = (REPO / readme).read_text()
    after = text[text.index(command) :]
    new_project, *later = sh_blocks(after[after.index("```") + 3 :])
    switch = next(b for b in later if b.startswith("OLD_VERSION="))
    project = "your-project-id"
    words = shlex.split(command.replace("YOUR_PROJECT_ID", project))
    stage = stages.load(words[1])
    done = subprocess.run(words, cwd=REPO, capture_output=True, text=True, timeout=120)
    script, _, switch_script = done.stdout.partition("\n# Switch over")
    switch_script = switch_script.partition("\n")[2]
    # The dry run notes the serving version before either deploy; by hand, the
    # new-project steps need none, and the switch-over starts with it.
    old_version = re.search(r"^OLD_VERSION=.*\n", script, re.MULTILINE).group(0)
    script = script.replace(old_version, "")
    switch_script = old_version + switch_script
    [version] = re.findall(r"^VERSION=(.*)$", script, re.MULTILINE)
    [by_hand_version] = NEW_VERSION.findall(new_project)

    def printed(script):
        lines = [line for line in script.splitlines() if not line.startswith("#")]
        return [
            deploy_words(w, stage) for w in by_hand_steps("\n".join(lines), project)
        ]

    assert done.returncode == 0, done.stderr
    assert by_hand_steps(new_project, project) == printed(script)
    assert by_hand_steps(switch, project) == printed(switch_script)
    # The same name as scripts/deploy gives the version, but for the time.
    assert re.fullmatch(rf"{by_hand_version}-\d{{8}}t\d{{6}}", version)


@pytest.mark.parametrize(
    "command", sorted({c for _, c in COMMANDS if kind(c) == "doctor"})
)
def test_the_doctor_takes_the_stage_it_names(command):
    done = subprocess.run(
        shlex.split(command), cwd=REPO, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "route A takes this app as it is" in done.stdout
    assert [line for line in done.stdout.splitlines() if " TQ101 add " in line]
