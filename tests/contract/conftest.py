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

"""Fixtures: the repository's stages (scripts/stages.py), each running under
scripts/launch.py.

VISITME_STAGES (folders, comma-separated) runs the tests against other folders
instead, such as a learner's own migration (scripts/verify sets it).
"""

import os

import pytest

import stages
from stage import Stage

if os.environ.get("VISITME_STAGES"):
    STAGES = [stages.load(path) for path in os.environ["VISITME_STAGES"].split(",")]
else:
    STAGES = stages.repository_stages()
CLOUD_STAGES = [stage for stage in STAGES if stage.kind == stages.CLOUD]
ROUTE_A_STAGES = [stage for stage in STAGES if stage.kind == stages.ROUTE_A]


@pytest.fixture(scope="module", params=STAGES, ids=lambda stage: stage.name)
def stage_info(request):
    """Each stage under test in turn (a stages.Stage), for one test module."""
    return request.param


@pytest.fixture(scope="module", params=CLOUD_STAGES, ids=lambda stage: stage.name)
def cloud_stage_info(request):
    """Each Cloud NDB + Cloud Tasks stage under test in turn, for one module."""
    return request.param


@pytest.fixture(scope="module", params=ROUTE_A_STAGES, ids=lambda stage: stage.name)
def route_a_stage_info(request):
    """Each stage on route A (the bundled services, tasks through Cloud Tasks)."""
    return request.param


@pytest.fixture(scope="module")
def start_stage(tmp_path_factory):
    """Return start(info, env=(), label="app", options=()): launch a stage as
    `make run` does (options for the launcher), on free ports. One runs at a
    time: starting the next stops the one before (pytest runs a module's tests
    stage by stage), and the module's end stops the last."""
    running = []

    def start(info, env=(), label="app", options=()):
        if running:
            running.pop().stop()
        log = tmp_path_factory.mktemp("logs") / f"{info.name}-{label}.log"
        path = str(info.folder.with_name(info.name))
        running.append(Stage(path, log, env, options))
        return running[-1].start()

    yield start
    if running:
        running.pop().stop()


@pytest.fixture(scope="module")
def stage(start_stage, stage_info):
    """A stage launched as `make run` launches it, for one test module."""
    return start_stage(stage_info)


@pytest.fixture
def site(stage):
    """The running stage, with an empty datastore."""
    stage.storage.clear()
    return stage
