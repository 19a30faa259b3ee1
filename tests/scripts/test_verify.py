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

"""scripts/verify catches a broken migration and names the SPEC item.

The test copies a real stage, breaks one thing the way a learner might, and
runs verify on the copy: a full contract run against it. The copy keeps the
stage's folder name, so the launcher reuses that stage's environment. Other
breakages (a cutoff cut to whole seconds: SPEC 7; no user-agent shortening:
SPEC 4) were tried by hand; they make many tests wait out their timeouts,
too slow to repeat in every `make test`.
"""

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def verify(folder):
    """Run scripts/verify on a folder; return (exit code, stdout, stderr)."""
    done = subprocess.run(
        [REPO / "scripts" / "verify", str(folder)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.returncode, done.stdout, done.stderr


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
    assert "1 of 16 SPEC items failed" in out


def test_a_folder_that_is_not_a_stage_gets_one_line(tmp_path):
    code, out, err = verify(tmp_path)

    assert code == 2
    assert out == ""
    assert err == f"error: {tmp_path.name} is not a stage folder: it has no app.yaml\n"
