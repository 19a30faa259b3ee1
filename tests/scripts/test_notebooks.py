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

"""scripts/notebooks.py check: it catches stale outputs and failing cells.

(make test runs the check itself on the real notebooks, beside these tests.)
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PYTHON = REPO / ".venv" / "notebooks" / "bin" / "python"
NOTEBOOK = REPO / "notebooks" / "02-push-tasks-then-and-now.ipynb"


@pytest.fixture
def copy(tmp_path):
    """A copy of a real notebook, to spoil; the checker still runs it with
    notebooks/ as its folder, where the stage code it imports lives."""
    if not PYTHON.exists():
        pytest.fail("no .venv/notebooks: run these tests with `make tooling`")
    return Path(shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name))


def check(path):
    """Run the checker on one notebook; return (exit code, stdout + stderr)."""
    done = subprocess.run(
        [PYTHON, "scripts/notebooks.py", "check", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def edit(path, change):
    """Apply change(notebook) to the JSON of a notebook file."""
    notebook = json.loads(path.read_text())
    change(notebook)
    path.write_text(json.dumps(notebook))


def test_a_current_notebook_passes(copy):
    code, out = check(copy)

    assert code == 0, out
    assert "outputs current, 4 pictures" in out


def test_a_stale_text_output_fails_and_names_the_cell(copy):
    def spoil(notebook):
        cell = next(
            c
            for c in notebook["cells"]
            if c["cell_type"] == "code"
            and any(o["output_type"] == "stream" for o in c["outputs"])
        )
        stream = next(o for o in cell["outputs"] if o["output_type"] == "stream")
        stream["text"] = ["an output from some older version of the stage\n"]

    edit(copy, spoil)
    code, out = check(copy)

    assert code == 1
    assert "committed outputs are stale in cell(s)" in out
    assert "make notebooks" in out


def test_log_lines_and_prints_may_interleave_either_way(copy):
    def interleave_otherwise(notebook):
        for cell in notebook["cells"]:
            names = [o.get("name") for o in cell.get("outputs", [])]
            if "stdout" in names and "stderr" in names:
                cell["outputs"] = sorted(
                    cell["outputs"], key=lambda o: o.get("name") != "stdout"
                )

    edit(copy, interleave_otherwise)
    code, out = check(copy)

    assert code == 0, out


def test_a_missing_picture_fails(copy):
    def drop_pictures(notebook):
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                cell["outputs"] = [
                    o for o in cell["outputs"] if "image/png" not in o.get("data", {})
                ]

    edit(copy, drop_pictures)
    code, out = check(copy)

    assert code == 1
    assert "stale" in out


def test_a_cell_that_raises_fails_with_its_number_and_error(copy):
    def break_a_cell(notebook):
        notebook["cells"].append(
            {
                "cell_type": "code",
                "execution_count": None,
                "id": "broken",
                "metadata": {},
                "outputs": [],
                "source": "1 / 0",
            }
        )

    edit(copy, break_a_cell)
    code, out = check(copy)

    assert code == 1
    assert "ZeroDivisionError" in out and "cell " in out
