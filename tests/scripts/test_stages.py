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

"""scripts/stages.py: the one place that knows what a stage is."""

import subprocess
import sys

import pytest

import stages

REPO = stages.REPO


def make_stage(folder, app_yaml="runtime: python311\n"):
    """Lay out a minimal stage folder; return it."""
    folder.mkdir()
    (folder / "app.yaml").write_text(app_yaml)
    (folder / "main.py").write_text("")
    return folder


def run(*args):
    """Run scripts/stages.py; return (exit code, stdout, stderr)."""
    done = subprocess.run(
        [sys.executable, "scripts/stages.py", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.returncode, done.stdout, done.stderr


def test_every_stage_folder_in_the_repository_is_listed():
    folders = {path.parent.name for path in REPO.glob("mod*/app.yaml")}

    assert {stage.name for stage in stages.folders()} == folders


def test_each_app_yaml_variant_in_a_stage_folder_is_listed():
    variants = {
        f"{path.parent.name}+{path.stem.removeprefix('app-')}"
        for path in REPO.glob("mod*/app-*.yaml")
    }

    assert {s.name for s in stages.repository_stages() if s.variant} == variants


def test_each_step_comes_from_a_listed_stage_and_route_a_from_mod7():
    steps = {(old.name, new.name) for old, new in stages.steps()}

    assert ("mod7-gaetasks", "mod7-gaetasks+cloudtasks") in steps
    assert ("mod7-gaetasks", "mod8-cloudtasks") in steps
    assert len(steps) == len(stages.repository_stages()) - 1


def test_stages_are_in_module_order_not_name_order(tmp_path):
    found = [
        stages.load(make_stage(tmp_path / name))
        for name in ("mod10-later", "mod9-py3", "mod7-first")
    ]

    assert [s.name for s in stages.in_order(found)] == [
        "mod7-first",
        "mod9-py3",
        "mod10-later",
    ]


@pytest.mark.parametrize(
    "app_yaml, kind",
    [
        ("runtime: python311\napp_engine_apis: true\n", stages.BUNDLED),
        ("runtime: python311\napp_engine_apis: true  # the bundled APIs\n", "bundled"),
        ("runtime: python311\napp_engine_apis: false\n", stages.CLOUD),
        ("runtime: python311\n# app_engine_apis: true\n", stages.CLOUD),
        ("runtime: python311\napp_engine_apis: trueish\n", stages.CLOUD),
    ],
)
def test_the_kind_comes_from_app_yaml(tmp_path, app_yaml, kind):
    assert stages.load(make_stage(tmp_path / "mod8-mine", app_yaml)).kind == kind


@pytest.mark.parametrize(
    "flag, kind",
    [
        ('"true"', stages.ROUTE_A),
        ("'TRUE'", stages.ROUTE_A),
        ("true", stages.ROUTE_A),
        ('"false"', stages.BUNDLED),
        ('"yes"', stages.BUNDLED),
        ("\"true'", stages.BUNDLED),
    ],
)
def test_route_a_is_the_bundled_services_with_the_sdk_flag(tmp_path, flag, kind):
    app_yaml = (
        "runtime: python311\napp_engine_apis: true\nenv_variables:\n"
        f"  APPENGINE_USE_CLOUDTASK_PUSH_QUEUE: {flag}\n"
    )

    assert stages.load(make_stage(tmp_path / "mine", app_yaml)).kind == kind


def test_a_variant_is_its_folder_served_with_app_variant_yaml():
    route_a = stages.load("mod7-gaetasks+cloudtasks")

    assert route_a.folder == REPO / "mod7-gaetasks"
    assert route_a.app_yaml == REPO / "mod7-gaetasks" / "app-cloudtasks.yaml"
    assert route_a.kind == stages.ROUTE_A
    assert route_a.venv == stages.VENVS / "mod7-gaetasks+cloudtasks"


def test_venvs_follow_the_kind(tmp_path):
    bundled = stages.load(make_stage(tmp_path / "b", "app_engine_apis: true\n"))
    cloud = stages.load(make_stage(tmp_path / "c"))

    assert bundled.venv == stages.VENVS / "b"
    assert bundled.app_env == stages.VENVS / "devappserver-b"
    assert bundled.python == stages.VENVS / "devappserver-b/default/bin/python"
    assert cloud.app_env == cloud.venv == stages.VENVS / "c"
    assert cloud.python == stages.VENVS / "c/bin/python"


@pytest.mark.parametrize(
    "files, says",
    [
        ([], "it has no app.yaml"),
        (["app.yaml"], "it has no main.py"),
    ],
)
def test_a_folder_that_is_not_a_stage_is_refused_in_one_line(tmp_path, files, says):
    folder = tmp_path / "mine"
    folder.mkdir()
    for name in files:
        (folder / name).write_text("")

    with pytest.raises(stages.NotAStage, match=f"^mine is not a stage folder: {says}$"):
        stages.load(folder)


def test_the_command_lists_the_stages_and_their_fields():
    code, out, _ = run("--format", "{name} {kind} {number}")

    assert code == 0
    assert out.splitlines() == [
        f"{s.name} {s.kind} {s.number}" for s in stages.repository_stages()
    ]


@pytest.mark.parametrize(
    "args, says",
    [
        (["docs"], "error: docs is not a stage folder: it has no app.yaml\n"),
        (
            ["mod8-cloudtasks+cloudtasks"],
            "error: mod8-cloudtasks+cloudtasks is not a stage: mod8-cloudtasks has "
            "no app-cloudtasks.yaml\n",
        ),
        (["--format", "{nope}"], "error: --format takes fields name, folder, kind"),
    ],
)
def test_the_command_refuses_bad_input_in_one_line(args, says):
    code, out, err = run(*args)

    assert code == 2
    assert out == ""
    assert err.startswith(says) and err.count("\n") == 1
