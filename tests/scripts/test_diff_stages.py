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

"""scripts/diff-stages: summaries, colour, the HTML page, bad names."""

import functools
import html.parser
import os
import pty
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import stages

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "diff-stages"
GOLDEN = Path(__file__).parent / "golden"
STAGES = [stage.name for stage in stages.repository_stages()]
PAIRS = [(old.name, new.name) for old, new in stages.steps()]
# Steps between two folders (a variant shares its folder with its base).
FOLDER_PAIRS = [(old, new) for old, new in PAIRS if "+" not in old + new]


@functools.cache  # the tree does not change while the tests run: run each once
def diff_stages(*args):
    """Run the script with its output piped; return (exit code, stdout, stderr)."""
    done = subprocess.run(
        [SCRIPT, *args], capture_output=True, text=True, cwd=REPO, timeout=60
    )
    return done.returncode, done.stdout, done.stderr


# What a reader of each step should meet first: the app's code, then its
# configuration; its tests and docs last.
APP_FILES = {
    "main.py",
    "templates/index.html",
    "app.yaml",
    "requirements.txt",
    "queue.yaml",
    ".gcloudignore",
}
TEACHING_ORDER = {
    ("mod7-gaetasks", "mod8-cloudtasks"): [
        "main.py",
        "app.yaml",
        "requirements.txt",
        "queue.yaml",
        "main_test.py",
        "README.md",
    ],
    ("mod8-cloudtasks", "mod9-py3"): [
        "main.py",
        "app.yaml",
        "requirements.txt",
        ".gcloudignore",
        "main_test.py",
        "requirements-test.txt",
        "README.md",
    ],
}


def changed_files(summary):
    """Return {path: (added, removed)} from a summary's file lines."""
    found = re.findall(
        r"^  (\S+)\s+(?:added|removed|changed)\s+\+(\d+) -(\d+)$", summary, re.MULTILINE
    )
    return {path: (int(plus), int(minus)) for path, plus, minus in found}


@pytest.mark.parametrize("old, new", PAIRS)
def test_summary_matches_the_golden_file(old, new):
    code, out, _ = diff_stages("--stat", old, new)

    golden = GOLDEN / f"{old}__{new}.txt"
    assert code == 0
    assert out == golden.read_text(), (
        f"the {old} -> {new} step changed: review it, then update the golden file "
        f"with: scripts/diff-stages --stat {old} {new} > {golden.relative_to(REPO)}"
    )


@pytest.mark.parametrize("old, new", FOLDER_PAIRS)
def test_line_counts_match_git_diff_stat(old, new):
    numstat = subprocess.run(
        ["git", "diff", "--no-index", "--numstat", old, new],
        capture_output=True,
        text=True,
        cwd=REPO,
    ).stdout
    expected = {}
    for line in numstat.splitlines():
        plus, minus, path = line.split("\t")
        path = re.sub(r"\{[^}]*=> ([^}]*)\}", r"\1", path)  # {old => new}/file
        name = path.split(" => ")[0] if path.endswith("/dev/null") else path
        name = name.split("/", 1)[1]
        if not re.fullmatch(r"app-[\w-]+\.yaml", name):  # a variant's, not a step's
            expected[name] = (int(plus), int(minus))

    _, out, _ = diff_stages("--stat", old, new)

    assert changed_files(out) == expected


def test_summary_names_requirements_and_app_yaml_keys():
    _, out, _ = diff_stages("--stat", "mod7-gaetasks", "mod8-cloudtasks")

    assert "+ google-cloud-ndb==2.7.1" in out
    assert "- appengine-python-standard==3.1.0" in out
    assert "- app_engine_apis: true" in out
    assert "+ env_variables.QUEUE_LOCATION: us-central1" in out


def test_no_arguments_shows_every_consecutive_pair():
    code, out, _ = diff_stages("--stat")

    assert code == 0
    assert "mod7-gaetasks -> mod8-cloudtasks:" in out
    assert "mod8-cloudtasks -> mod9-py3:" in out


def test_full_output_is_a_unified_diff_of_each_file():
    _, out, _ = diff_stages("mod7-gaetasks", "mod8-cloudtasks")

    assert "+++ b/mod8-cloudtasks/main.py" in out
    assert "-        taskqueue.add(" in out
    assert "--- a/mod7-gaetasks/queue.yaml" in out and "+++ /dev/null" in out
    assert "\x1b[" not in out  # piped: no colour


def test_colour_on_a_terminal_only_and_never_with_no_color():
    primary, replica = pty.openpty()
    with os.fdopen(primary, "rb") as terminal:
        done = subprocess.Popen(
            [SCRIPT, "mod8-cloudtasks", "mod9-py3"], stdout=replica, cwd=REPO
        )
        os.close(replica)
        shown = b""
        while chunk := read_some(terminal):
            shown += chunk
        done.wait(60)

    assert b"\x1b[32m+" in shown and b"\x1b[31m-" in shown
    _, plain, _ = diff_stages("--no-color", "mod8-cloudtasks", "mod9-py3")
    assert "\x1b[" not in plain


def read_some(terminal):
    """Read what a pseudo-terminal has; b'' once the writer is gone."""
    try:
        return terminal.read1(65536)
    except OSError:  # EIO: the other end closed
        return b""


class PageParser(html.parser.HTMLParser):
    """Collect the file headings and diff tables of the HTML page."""

    def __init__(self):
        super().__init__()
        self.files, self.tables, self.external = [], 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "h3" and "data-path" in attrs:
            self.files.append(attrs["data-path"])
        if tag == "table":
            self.tables += 1
        if tag in ("link", "script", "img") or "src" in attrs:
            self.external.append(tag)


def test_html_page_is_self_contained_and_holds_every_changed_file(tmp_path):
    page = tmp_path / "diff.html"

    code, out, err = diff_stages("--stat", "--html", str(page))

    parser = PageParser()
    parser.feed(page.read_text())
    expected = [
        path for summary in out.split("\n\n") for path in changed_files(summary)
    ]
    assert code == 0 and f"Wrote {page}" in err
    assert parser.files == expected
    assert parser.tables == len(expected)
    assert parser.external == []


def test_caches_are_not_source(tmp_path):
    # A copy of the scripts and stages, so that the caches go there, not here.
    shutil.copytree(REPO / "scripts", tmp_path / "scripts")
    for stage in stages.folders():
        shutil.copytree(stage.folder, tmp_path / stage.name)
    old, new = PAIRS[-1]
    cache = tmp_path / new / "__pycache__"
    cache.mkdir()
    (cache / "main.cpython-311.pyc").write_bytes(b"\x00compiled")
    (tmp_path / new / ".venv").mkdir()

    done = subprocess.run(
        [tmp_path / "scripts" / "diff-stages", "--stat", old, new],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )

    assert "__pycache__" not in done.stdout
    assert done.stdout == (GOLDEN / f"{old}__{new}.txt").read_text()


@pytest.mark.parametrize(
    "args", [["mod7", "mod8-cloudtasks"], ["mod7-gaetasks", "tests"]]
)
def test_a_name_that_is_not_a_stage_exits_2_with_the_valid_names(args):
    code, out, err = diff_stages(*args)

    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert f"is not a stage folder; the stages are: {', '.join(STAGES)}\n" in err


def test_one_stage_alone_is_a_usage_error():
    code, _, err = diff_stages("mod7-gaetasks")

    assert code == 2
    assert "give two stage folders, FROM and TO, or none" in err


def test_route_a_is_its_configuration_alone():
    [(old, new)] = [(o, n) for o, n in PAIRS if n.endswith("+cloudtasks")]

    code, out, _ = diff_stages(old, new)

    assert code == 0
    assert changed_files(out) == {"app.yaml": (5, 1)}
    assert "+ env_variables.APPENGINE_USE_CLOUDTASK_PUSH_QUEUE: true" in out
    assert f"+++ b/{old}/app-cloudtasks.yaml" in out
    assert "requirements.txt: no change" in out


@pytest.mark.parametrize("old, new", sorted(TEACHING_ORDER))
def test_code_and_configuration_come_first_tests_and_docs_last(old, new):
    _, out, _ = diff_stages(old, new)

    shown = re.findall(r"^diff --git a/\S+?/(\S+) ", out, re.MULTILINE)
    assert list(changed_files(out)) == TEACHING_ORDER[old, new]
    assert shown == TEACHING_ORDER[old, new]


@pytest.mark.parametrize("old, new", PAIRS)
def test_code_shows_the_apps_own_files_alone(old, new):
    _, everything, _ = diff_stages("--stat", old, new)

    code, out, _ = diff_stages("--code", old, new)

    app_files = {
        path: lines
        for path, lines in changed_files(everything).items()
        if path in APP_FILES
    }
    assert code == 0
    assert f"{old} -> {new} (code and configuration only): " in out
    assert changed_files(out) == app_files
    assert list(changed_files(out)) == list(app_files)  # in the same order
    shown = re.findall(r"^diff --git a/\S+?/(\S+) ", out, re.MULTILINE)
    assert shown == list(app_files)
    assert "requirements.txt:" in out and "app.yaml keys:" in out


def test_make_diff_code_passes_code():
    done = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "diff",
            "FROM=mod8-cloudtasks",
            "TO=mod9-py3",
            "CODE=1",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert "(code and configuration only)" in done.stdout
    assert "+++ b/mod9-py3/main.py" in done.stdout
    assert "mod9-py3/README.md" not in done.stdout
