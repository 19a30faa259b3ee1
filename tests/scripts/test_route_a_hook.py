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

"""scripts/route_a/sitecustomize.py: only with an emulator address, only locally.

(tests/contract/test_route_a.py shows it at work under dev_appserver.)
"""

import os
import subprocess
import sys

import launch
import stages

HOOK = stages.REPO / "scripts" / "route_a"
# Which client the SDK would make, and where a call with it goes: a port
# where nothing listens, so the refusal names the address it tried.
SHOW = """
from google.cloud import tasks_v2
client = tasks_v2.CloudTasksClient
print(client.__name__)
if client.__name__ != "CloudTasksClient":
    try:
        client().get_queue(name="projects/p/locations/l/queues/q", retry=None)
    except Exception as err:
        print("refused" if "{address}" in str(err) else err)
"""


def python_with_hook(**env):
    """Start a Python with the hook's folder on PYTHONPATH; return its output."""
    address = env.get("CLOUD_TASKS_EMULATOR_HOST", "")
    done = subprocess.run(
        [sys.executable, "-c", SHOW.format(address=address)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(HOOK), **env},
    )
    assert done.returncode == 0, done.stderr[-1000:]
    return done.stdout.split()


def test_without_an_emulator_address_the_client_is_the_sdk_s_own():
    assert python_with_hook() == ["CloudTasksClient"]


def test_with_an_emulator_address_the_client_talks_to_it():
    address = f"127.0.0.1:{launch.free_port()}"

    assert python_with_hook(CLOUD_TASKS_EMULATOR_HOST=address) == [
        "EmulatorCloudTasksClient",
        "refused",
    ]


def test_no_stage_folder_holds_the_hook():
    for stage in stages.folders():
        assert not list(stage.folder.rglob("sitecustomize.py")), stage.name
