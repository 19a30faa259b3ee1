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

"""Fixtures: each stage folder in STAGES, running under scripts/launch.py."""

import pytest

from stage import Stage

# A new stage joins every contract test by adding its folder name here.
STAGES = ["mod7-gaetasks", "mod8-cloudtasks", "mod9-py3"]


@pytest.fixture(scope="module", params=STAGES)
def stage(request, tmp_path_factory):
    """A stage launched as `make run` launches it, for one test module."""
    log = tmp_path_factory.mktemp("logs") / f"{request.param}.log"
    running = Stage(request.param, log).start()
    yield running
    running.stop()


@pytest.fixture
def site(stage):
    """The running stage, with an empty datastore."""
    stage.storage.clear()
    return stage
