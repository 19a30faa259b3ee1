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

REPO = Path(__file__).resolve().parents[2]
MAP = REPO / "docs" / "MIGRATION-MAP.md"
COLUMNS = {1: "mod7-gaetasks", 2: "mod8-cloudtasks"}  # table column -> stage
SOURCES = ["main.py", "app.yaml", "queue.yaml", "requirements.txt"]


def quoted_names():
    """Return (stage, row, code span) for each span in the map's stage columns."""
    found = []
    for line in MAP.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] in ("What", "---"):
            continue
        for column, stage in COLUMNS.items():
            for span in re.findall(r"`([^`]+)`", cells[column]):
                found.append((stage, cells[0], span))
    return found


def stage_text(stage, span):
    """Return where span must appear: a gcloud command in the stage's README,
    anything else in its code and configuration."""
    names = ["README.md"] if span.startswith(("gcloud ", "--")) else SOURCES
    paths = [REPO / stage / name for name in names]
    return "\n".join(path.read_text() for path in paths if path.exists())


def test_the_map_quotes_both_stages_on_every_topic():
    names = quoted_names()

    assert len({row for _, row, _ in names}) >= 18
    assert {stage for stage, _, _ in names} == set(COLUMNS.values())


@pytest.mark.parametrize(
    "stage, row, span", quoted_names(), ids=lambda value: str(value)[:40]
)
def test_every_quoted_name_is_in_its_stage(stage, row, span):
    assert span in stage_text(stage, span), f"{row}: {span!r} is not in {stage}"
