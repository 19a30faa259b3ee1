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

"""What the docs tell a learner about trims holds for the stages' code.

When the first trim comes, and how often after it, is read from notebook 01's
committed output: the notebook runs mod7's own main.py on the testbed, asserts
the same numbers, and `make test` fails if its outputs are stale. So a number
here cannot drift from the code without a test failing.
"""

import json
import re

import pytest

import stages

REPO = stages.REPO
NOTEBOOK = REPO / "notebooks" / "01-trimming-logic.ipynb"
README = (REPO / "README.md").read_text()
MOD7_README = (REPO / "mod7-gaetasks" / "README.md").read_text()
PERFORMANCE = (REPO / "docs" / "PERFORMANCE.md").read_text()


def first_task_and_interval():
    """Return {TRIM_SLACK: (view of the first task, views between tasks)}, read
    from notebook 01's committed table."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    printed = "".join(
        "".join(output.get("text", ""))
        for cell in cells
        if cell["cell_type"] == "code"
        for output in cell["outputs"]
    )
    rows = re.findall(r"^ +(\d+) +view (\d+) +(\d+) ", printed, re.MULTILINE)
    return {int(slack): (int(first), int(every)) for slack, first, every in rows}


def ordinal(number):
    """11 -> '11th', 21 -> '21st'."""
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{'th' if number % 100 in (11, 12, 13) else suffix}"


def flat(text):
    """Text with its line breaks as spaces, so phrases can span lines."""
    return re.sub(r"\s+", " ", text)


def test_the_notebook_counts_the_default_and_no_slack():
    found = first_task_and_interval()

    assert found[0] == (11, 1)
    assert found[10] == (21, 11)


@pytest.mark.parametrize("doc", [README, MOD7_README])
def test_readmes_say_when_the_first_trim_comes_with_the_default_slack(doc):
    first, every = first_task_and_interval()[10]

    assert f"on the {ordinal(first)} " in flat(doc)
    assert f"every {ordinal(every)}" in flat(doc)


def test_performance_says_when_the_first_trim_comes():
    first, every = first_task_and_interval()[10]

    assert f"the first comes at visit {first}," in flat(PERFORMANCE)
    assert f"one every {ordinal(every)} visit" in flat(PERFORMANCE)


def test_tasks_for_500_visits_follow_from_the_first_and_the_interval():
    first, every = first_task_and_interval()[10]
    tasks = len(range(first, 500 + 1, every))

    for doc in (PERFORMANCE, MOD7_README):
        assert f"{tasks} tasks for 500" in flat(doc) or (
            f"500 back-to-back sequential page views enqueued {tasks} trim tasks"
            in flat(doc)
        )
    assert f"{tasks / 500:.3f}" in PERFORMANCE


def test_the_path_shows_a_trim_in_the_first_minute():
    first, every = first_task_and_interval()[0]
    path = flat(README.split("## The path, step by step", 1)[1].split("\n## ")[0])

    assert "make run MODULE=mod7-gaetasks TRIM_SLACK=0" in path
    assert f"The {ordinal(first)} view (the first load and {first - 1} reloads)" in path
    assert every == 1 and "From then on every reload enqueues one" in path


def test_route_a_has_one_name_and_a_step_of_its_own():
    path = README.split("## The path, step by step", 1)[1].split("\n## ")[0]
    steps = re.findall(r"^\d+\. \*\*(.*?)\*\*", path, re.MULTILINE)

    assert "mod7-gaetasks+cloudtasks" in stages.NAMES
    assert any(
        step.startswith("Route A: [`mod7-gaetasks+cloudtasks`]") for step in steps
    )
    assert "make run MODULE=mod7-gaetasks+cloudtasks" in path
    for doc in (README, MOD7_README):
        assert "make run MODULE=mod7-gaetasks+cloudtasks" in doc


@pytest.mark.parametrize("stage", [stage.name for stage in stages.folders()])
def test_every_stage_readme_links_the_notebooks_and_the_migration_map(stage):
    links = re.findall(r"\]\(([^)\s]+)\)", (REPO / stage / "README.md").read_text())

    assert any(link.startswith("../notebooks/") for link in links)
    assert "../docs/MIGRATION-MAP.md" in links


def test_docs_speak_of_the_repository_as_it_is():
    docs = [
        path
        for path in REPO.glob("**/*.md")
        if ".venv" not in path.parts and ".git" not in path.parts
    ]
    history = re.compile(
        r"issue #?\d+|previous version|(first|second) version of", re.IGNORECASE
    )

    found = {
        path.relative_to(REPO).as_posix(): match.group(0)
        for path in docs
        if (match := history.search(path.read_text()))
    }
    assert found == {}, "docs speak to a reader of the repository as it is"
