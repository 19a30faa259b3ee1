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

"""scripts/verify catches a broken migration and names the SPEC item, and
fails on anything it cannot vouch for.

The first test copies a real stage, breaks one thing the way a learner might,
and runs verify on the copy: a full contract run against it. The copy keeps
the stage's folder name, so the launcher reuses that stage's environment.
Other breakages (a cutoff cut to whole seconds: SPEC 7; no user-agent
shortening: SPEC 4) were tried by hand; they make many tests wait out their
timeouts, too slow to repeat in every `make test`.

The others give verify stand-in contract tests (`--tests`) that produce the
results of a broken run directly: a failing test of no SPEC item, items no
test checked, and a pytest run that stopped early.
"""

import importlib.machinery
import importlib.util
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC = REPO / "SPEC.md"


def load_verify():
    """Import scripts/verify (a script without .py) as a module."""
    path = str(REPO / "scripts" / "verify")
    loader = importlib.machinery.SourceFileLoader("verify", path)
    module = importlib.util.module_from_spec(
        importlib.util.spec_from_loader("verify", loader)
    )
    loader.exec_module(module)
    return module


def verify(folder, *options):
    """Run scripts/verify on a folder; return (exit code, stdout, stderr)."""
    done = subprocess.run(
        [REPO / "scripts" / "verify", *options, str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.mark.servers
@pytest.mark.timeout(900)  # a whole contract run against one stage
def test_a_copy_without_the_queue_check_fails_spec_12_only(tmp_path):
    copy = tmp_path / "mod8-cloudtasks"
    shutil.copytree(
        REPO / "mod8-cloudtasks", copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    main = copy / "main.py"
    line = '    if "X-AppEngine-QueueName" not in request.headers:'
    assert line in main.read_text()
    main.write_text(main.read_text().replace(line, "    if False:  # forgotten"))

    code, out, _ = verify(copy)

    assert code == 1
    assert "SPEC 12 FAILED  refuses /trim from outside the queue" in out
    assert "-> look at trim(): check X-AppEngine-QueueName" in out
    assert out.count("FAILED") == 1
    assert "1 check failed" in out


# Google's codelab mod8 sends its trim as JSON; a copy of mod8 made to do the same.
JSON_MESSAGE = {
    "import urllib.parse\n": "import json\nimport urllib.parse\n",
    "    body = urllib.parse.urlencode(params).encode()\n": (
        "    body = json.dumps(params).encode()\n"
    ),
    '"Content-Type": "application/x-www-form-urlencoded"}': (
        '"Content-Type": "application/json"}'
    ),
    '    if request.mimetype != "application/x-www-form-urlencoded":': (
        '    if request.mimetype != "application/json":'
    ),
    '    return parse_cutoff(request.form.get("oldest"))': (
        '    return parse_cutoff((request.get_json(silent=True) or {}).get("oldest"))'
    ),
}


@pytest.mark.servers
@pytest.mark.timeout(600)
def test_a_copy_that_sends_json_fails_spec_14_and_says_what_a_switch_loses(tmp_path):
    copy = tmp_path / "mod8-cloudtasks"
    shutil.copytree(
        REPO / "mod8-cloudtasks", copy, ignore=shutil.ignore_patterns("__pycache__")
    )
    main = copy / "main.py"
    text = main.read_text()
    for old, new in JSON_MESSAGE.items():
        assert old in text
        text = text.replace(old, new)
    main.write_text(text)
    # The contract tests of trimming and the push handler, the items 7-14.
    tests = tmp_path / "tests"
    tests.mkdir()
    for name in ("conftest.py", "test_trim.py"):
        shutil.copy(REPO / "tests" / "contract" / name, tests)

    code, out, _ = verify(copy, "--tests", str(tests))

    assert code == 1
    [line] = [line for line in out.splitlines() if line.startswith("SPEC 14")]
    assert line.startswith("SPEC 14 FAILED  sends and reads the one trim message")
    assert "the queue retries such tasks and drops them" in line
    assert "SPEC 12 passed" in out  # the copy runs: only its message differs


def test_a_folder_that_is_not_a_stage_gets_one_line(tmp_path):
    code, out, err = verify(tmp_path)

    assert code == 2
    assert out == ""
    assert err == f"error: {tmp_path.name} is not a stage folder: it has no app.yaml\n"


def spec_items():
    """Return the numbers of SPEC.md's numbered items."""
    return {int(n) for n in re.findall(r"^(\d+)\. ", SPEC.read_text(), re.MULTILINE)}


class MarkCollector:
    """A pytest plugin that collects each test's SPEC items, running nothing."""

    def __init__(self):
        self.marks = {}

    def pytest_collection_modifyitems(self, items):
        """Keep each collected test's spec(...) items."""
        for item in items:
            marker = item.get_closest_marker("spec")
            self.marks[item.nodeid] = set(marker.args) if marker else set()


def test_verify_knows_exactly_the_items_of_spec_md():
    assert set(load_verify().ITEMS) == spec_items()


def test_every_spec_item_has_a_contract_test_and_every_mark_is_an_item():
    collector = MarkCollector()
    code = pytest.main(
        [
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            str(REPO / "tests" / "contract"),
        ],
        plugins=[collector],
    )

    assert code == 0
    marked = set().union(*collector.marks.values())
    assert marked == spec_items(), f"unproved: {spec_items() - marked}"


STAND_INS = {
    "a failing test of no SPEC item": """
        import pytest

        @pytest.mark.spec(*range(1, 17))
        def test_every_item():
            pass

        def test_unknown_paths_are_not_errors():
            assert 500 == 404
        """,
    "items 1 to 4 with no test": """
        import pytest

        @pytest.mark.spec(*range(5, 17))
        def test_the_other_items():
            pass
        """,
    "a pytest run that stops at collection": """
        import pytest

        @pytest.mark.spec(*range(1, 17))
        def test_every_item():
            pass

        import no_such_module_anywhere
        """,
}
SAYS = {
    "a failing test of no SPEC item": [
        "FAILED  test_stand_in.py::test_unknown_paths_are_not_errors "
        "(proves no SPEC item): assert 500 == 404"
    ],
    "items 1 to 4 with no test": [
        f"SPEC  {item} FAILED  {what}: no test checked it"
        for item, (what, _) in list(load_verify().ITEMS.items())[:4]
    ],
    "a pytest run that stops at collection": [
        "FAILED  pytest stopped with exit status 2 (a collection, usage or "
        "internal error), so some tests never ran"
    ],
}


def test_route_a_is_checked_as_route_a_not_as_its_folder(tmp_path):
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_stand_in.py").write_text(
        textwrap.dedent(
            """
            import os

            import pytest

            @pytest.mark.spec(*range(1, 17))
            def test_the_folder_under_test():
                assert os.environ["VISITME_STAGES"].endswith("+cloudtasks")
            """
        )
    )

    code, out, _ = verify("mod7-gaetasks+cloudtasks", "--tests", str(tests))

    assert code == 0, out
    assert "with the Cloud Tasks emulator (route A)" in out


@pytest.mark.parametrize("case", STAND_INS)
def test_a_broken_run_fails_with_a_line_that_says_why(tmp_path, case):
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_stand_in.py").write_text(textwrap.dedent(STAND_INS[case]))

    code, out, _ = verify(REPO / "mod8-cloudtasks", "--tests", str(tests))

    assert code == 1, out
    for line in SAYS[case]:
        assert line in out.splitlines(), out
    assert "check failed" in out or "checks failed" in out
