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

"""Each stage README's codelab steps point at lines of its stage diff."""

import re
import subprocess
from pathlib import Path

import pytest

import stages

REPO = Path(__file__).resolve().parents[2]
# Each step to a folder of its own, whose README walks through it.
STEPS = [(old.name, new.name) for old, new in stages.steps() if not new.variant]


def numbered_steps(readme):
    """Return the numbered items of a README's '## The steps' section."""
    section = readme.read_text().split("## The steps", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\d+\. (.*?)(?=^\d+\. |\Z)", section, re.MULTILINE | re.DOTALL)


@pytest.mark.parametrize("old, new", STEPS)
def test_readme_opens_with_start_and_finish(old, new):
    opening = (REPO / new / "README.md").read_text().split("\n\n", 2)[1]

    assert f"START: [`{old}`]" in opening
    assert "FINISH: this folder" in opening


@pytest.mark.parametrize("old, new", STEPS)
def test_every_step_names_something_its_diff_changes(old, new):
    diff = subprocess.run(
        [REPO / "scripts" / "diff-stages", "--no-color", old, new],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    changed = "\n".join(
        line for line in diff.splitlines() if line.startswith(("+", "-", "diff "))
    )
    steps = numbered_steps(REPO / new / "README.md")

    assert len(steps) >= 5
    for number, step in enumerate(steps, 1):
        names = [name.rstrip("()") for name in re.findall(r"`([^`]+)`", step)]
        assert any(name in changed for name in names), (
            f"{new} README step {number} names nothing its diff changes: {names}"
        )
