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

pytest runs the tests stage by stage across modules (the stage fixtures are
session-scoped), so that the modules share one plain launch of each stage.
`make test` runs each stage's tests in a pytest of its own (--stage, in
tests/conftest.py), side by side, each stage on its own free ports.
"""

import os
from pathlib import Path

import pytest

import stages
from stage import Stage

if os.environ.get("VISITME_STAGES"):
    STAGES = [stages.load(path) for path in os.environ["VISITME_STAGES"].split(",")]
else:
    STAGES = stages.repository_stages()
CLOUD_STAGES = [stage for stage in STAGES if stage.kind == stages.CLOUD]
ROUTE_A_STAGES = [stage for stage in STAGES if stage.kind == stages.ROUTE_A]
HERE = Path(__file__).parent
LAUNCHER = pytest.StashKey()


@pytest.fixture(scope="session", params=STAGES, ids=lambda stage: stage.name)
def stage_info(request):
    """Each stage under test in turn (a stages.Stage)."""
    return request.param


@pytest.fixture(scope="session", params=CLOUD_STAGES, ids=lambda stage: stage.name)
def cloud_stage_info(request):
    """Each Cloud NDB + Cloud Tasks stage under test in turn."""
    return request.param


@pytest.fixture(scope="session", params=ROUTE_A_STAGES, ids=lambda stage: stage.name)
def route_a_stage_info(request):
    """Each stage on route A (the bundled services, tasks through Cloud Tasks)."""
    return request.param


class Launcher:
    """Launches stages as `make run` does, on free ports, each logging to a file
    of its own; keeps one plain launch (the shared stage) for every test that
    asks for it, and runs one stage at a time.

    One at a time, because dev_appserver rebuilds its environment folder when
    it starts and deletes it when it stops, so two launches of one bundled
    stage cannot overlap.
    """

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.shared = None

    def launch(self, info, env=(), label="app", options=()):
        """Start a stage (options for the launcher); return it once ready."""
        log = self.tmp_path_factory.mktemp("logs") / f"{info.name}-{label}.log"
        path = str(info.folder.with_name(info.name))
        return Stage(path, log, env, options).start()

    def shared_stage(self, info):
        """The stage launched as `make run` launches it, started on first use."""
        if self.shared is None or self.shared.info.name != info.name:
            self.stop_shared()
            self.shared = self.launch(info)
        return self.shared

    def stop_shared(self):
        """Stop the shared stage, if one runs."""
        if self.shared is not None:
            self.shared.stop()
            self.shared = None


@pytest.fixture(scope="session")
def launcher(request, tmp_path_factory):
    """The session's Launcher; the session's end stops its shared stage."""
    launcher = request.config.stash[LAUNCHER] = Launcher(tmp_path_factory)
    yield launcher
    launcher.stop_shared()


@pytest.fixture(scope="module")
def start_stage(launcher):
    """Return start(info, env=(), label="app", options=()): launch a stage with
    settings of its own. One runs at a time: starting one stops the one before
    (and the shared stage), and the module's end stops the last."""
    running = []

    def start(info, env=(), label="app", options=()):
        launcher.stop_shared()
        if running:
            running.pop().stop()
        running.append(launcher.launch(info, env, label, options))
        return running[-1]

    yield start
    if running:
        running.pop().stop()


@pytest.fixture
def stage(launcher, stage_info):
    """The stage launched as `make run` launches it, shared by every test of
    this stage that asks for it, in any module."""
    return launcher.shared_stage(stage_info)


@pytest.fixture
def site(stage):
    """The running stage, with an empty datastore."""
    stage.storage.clear()
    return stage


STAGE_FIXTURES = ("stage_info", "cloud_stage_info", "route_a_stage_info")


def stage_of(item):
    """The name of the stage a contract test is for, or None."""
    if not item.path.is_relative_to(HERE):
        return None
    params = getattr(item, "callspec", None)
    for name in STAGE_FIXTURES:
        if params and name in params.params:
            return params.params[name].name
    return None


def launches(item):
    """0 if a contract test uses the shared stage, 1 if it starts none (or is
    no contract test), 2 if it starts its own (start_stage)."""
    if not item.path.is_relative_to(HERE):
        return 1
    if "start_stage" in item.fixturenames:
        return 2
    return 0 if "stage" in item.fixturenames else 1


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items):
    """Mark each contract test that launches a stage servers(NAME) (the tests'
    own conftest.py runs each stage's in a process of its own). Then, once
    pytest has ordered the tests stage by stage: within each stage, run first
    the tests that share its plain launch, then those that launch none, then
    those that launch their own."""
    for item in items:
        if launches(item) != 1:
            item.add_marker(pytest.mark.servers(stage_of(item)))
    result = yield
    first = {}
    for index, item in enumerate(items):
        first.setdefault(stage_of(item) or item.nodeid, index)
    items.sort(key=lambda item: (first[stage_of(item) or item.nodeid], launches(item)))
    return result


def pytest_runtest_teardown(item, nextitem):
    """Stop the shared stage once the next test does not use it."""
    if launches(item) == 0 and (
        nextitem is None
        or launches(nextitem) != 0
        or stage_of(nextitem) != stage_of(item)
    ):
        item.config.stash[LAUNCHER].stop_shared()
