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

"""SPEC items 15 and 16: offline import, and a folder that deploys as it is."""

import os
import subprocess

import pytest


@pytest.mark.spec(15)
def test_import_main_works_offline_with_no_configuration(stage):
    # The stage's own environment, with no project, credentials or emulator.
    done = subprocess.run(
        [stage.python, "-B", "-c", "import main"],
        cwd=stage.info.folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": os.environ["PATH"]},
    )

    assert done.returncode == 0, done.stderr.strip().splitlines()[-1:]


@pytest.mark.spec(16)
def test_folder_has_what_gcloud_app_deploy_needs(stage_info):
    folder = stage_info.folder
    pins = (folder / "requirements.txt").read_text().split("\n")
    pins = [line.split("#")[0].strip() for line in pins]

    assert stage_info.runtime_python, "app.yaml names no python3NN runtime"
    assert (folder / ".gcloudignore").is_file(), "no .gcloudignore"
    unpinned = [line for line in pins if line and "==" not in line]
    assert not unpinned, f"requirements.txt has unpinned lines: {unpinned}"
    readme = (folder / "README.md").read_text()
    assert "gcloud app deploy" in readme
    if stage_info.variant:  # deployed with its own app.yaml, named
        assert f"gcloud app deploy {stage_info.config}" in readme


@pytest.mark.spec(16)
def test_the_upload_is_the_app_without_tests_or_local_tools(stage_info):
    # What `gcloud app deploy` would upload, after .gcloudignore.
    done = subprocess.run(
        ["gcloud", "meta", "list-files-for-upload"],
        cwd=stage_info.folder,
        capture_output=True,
        text=True,
        timeout=120,
    )

    uploaded = set(done.stdout.split())
    assert done.returncode == 0, done.stderr[-500:]
    assert {"main.py", "requirements.txt", "templates/index.html"} <= uploaded
    assert stage_info.config in uploaded
    assert not uploaded & {"main_test.py", "requirements-test.txt", "README.md"}
    assert not [name for name in uploaded if "sitecustomize" in name]
