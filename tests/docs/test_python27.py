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

"""docs/PYTHON27.md's table holds for mod7: what it says mod7 has, mod7 has;
what it says is gone from a Python 2.7 app, mod7 does not have."""

import re

import pytest

import stages

REPO = stages.REPO
MOD7 = REPO / "mod7-gaetasks"
# The files a learner's Python 3 app is made of (its tests aside).
CONFIG = ["app.yaml", "requirements.txt", "main.py", "queue.yaml"]


def table_rows():
    """Return (Python 2.7 cell, mod7 cell) for each row of the table."""
    text = (REPO / "docs" / "PYTHON27.md").read_text()
    rows = re.findall(r"^\| (.*?) \| (.*?) \|$", text, re.MULTILINE)
    return [row for row in rows if row[0] not in ("Python 2.7", "---")]


def names(cell):
    return re.findall(r"`([^`]+)`", cell)


def in_mod7(name):
    """Whether mod7 has name: a file or folder, or whole words in its files."""
    if (MOD7 / name.rstrip("/")).exists():
        return True
    words = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w-])")
    return any(words.search((MOD7 / path).read_text()) for path in CONFIG)


ROWS = table_rows()


def test_the_table_has_its_rows_and_the_readme_points_at_it():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Coming from Python 2.7", 1)[1].split("\n## ", 1)[0]

    assert len(ROWS) >= 10
    assert "(docs/PYTHON27.md)" in section and "(mod7-gaetasks/)" in section


@pytest.mark.parametrize(
    "old, new", ROWS, ids=[(names(o) or names(n))[0] for o, n in ROWS]
)
def test_each_row_holds_for_mod7(old, new):
    here = [n for n in names(new) if n != "mod7-gaetasks"]
    gone = [n for n in names(old) if n not in names(new)]

    assert [n for n in here if not in_mod7(n)] == [], "mod7 lacks these"
    # main.py's Flask app is kept; the row says so by naming it on both sides.
    assert [n for n in gone if in_mod7(n)] == [], "mod7 still has these"


def test_the_readme_maps_the_codelab_to_these_stages():
    readme = (REPO / "README.md").read_text()
    table = readme.split("## Beside Google's codelab", 1)[1].split("\n## ", 1)[0]
    ours = {s.name: s for s in stages.repository_stages()}
    linked = re.findall(r"\[`([^`]+)`\]\(\1/\)", table)

    assert set(linked) == {stage.name for stage in stages.folders()}
    # "on Python 3", "still on Cloud NDB": what the rows say of our stages.
    assert all(ours[name].runtime_python.startswith("3.") for name in linked)
    mod9 = (REPO / "mod9-py3" / "requirements.txt").read_text()
    assert "google-cloud-ndb" in mod9 and "google-cloud-datastore" not in mod9
