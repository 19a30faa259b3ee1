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

"""docs/MIGRATION-MAP.md cannot drift: each name it quotes is in its stage."""

import re
from pathlib import Path

import pytest

import stages

REPO = Path(__file__).resolve().parents[2]
MAP = REPO / "docs" / "MIGRATION-MAP.md"
SOURCES = ["main.py", "queue.yaml", "requirements.txt"]


def quoted_names():
    """Return (stage, row, code span) for each span in the tables' stage
    columns; each table's header names its columns' stages in backticks."""
    found, columns = [], {}
    for line in MAP.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not line.startswith("|") or cells[0] == "---":
            continue
        if cells[0] == "What":  # a table's header: which stage each column is
            columns = {
                number: re.search(r"`([^`]+)`", cell).group(1)
                for number, cell in enumerate(cells[1:], 1)
            }
            continue
        for column, stage in columns.items():
            for span in re.findall(r"`([^`]+)`", cells[column]):
                found.append((stage, cells[0], span))
    return found


def stage_text(name, span):
    """Return where span must appear: a gcloud command in the stage's README,
    anything else in its code and configuration (its own app.yaml)."""
    stage = stages.load(name)
    if span.startswith(("gcloud ", "--", "roles/", "scripts/deploy ")):
        paths = [stage.folder / "README.md"]
    else:
        paths = [stage.folder / source for source in SOURCES] + [stage.app_yaml]
    return "\n".join(path.read_text() for path in paths if path.exists())


def test_the_map_quotes_both_stages_on_every_topic():
    names = quoted_names()

    assert len({row for _, row, _ in names}) >= 18
    assert {stage for stage, _, _ in names} == {
        "mod7-gaetasks",
        "mod7-gaetasks+cloudtasks",
        "mod8-cloudtasks",
    }


@pytest.mark.parametrize(
    "stage, row, span", quoted_names(), ids=lambda value: str(value)[:40]
)
def test_every_quoted_name_is_in_its_stage(stage, row, span):
    assert span in stage_text(stage, span), f"{row}: {span!r} is not in {stage}"
