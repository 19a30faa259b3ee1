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

"""prereqs.py: which Java it accepts, and which install command it names.

Fake `java` and `gcloud` executables stand in for tools this machine cannot
be without (it has Java 17 and a Debian-packaged CLI with both components);
the last test holds the detection against the real CLI's own answer.
"""

import json
import os
import subprocess
import sys

import pytest

import prereqs

JAVA_8 = 'java version "1.8.0_401"\nJava(TM) SE Runtime Environment (build 1.8.0_401)'
JAVA_17 = (
    'openjdk version "17.0.15" 2025-04-15\n'
    "OpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)"
)


@pytest.fixture(autouse=True)
def fresh_lookup():
    """Forget the SDK folder found before: each test has its own PATH."""
    prereqs.find_sdk_root.cache_clear()
    yield
    prereqs.find_sdk_root.cache_clear()


@pytest.fixture
def fake_path(tmp_path, monkeypatch):
    """A PATH holding only an empty bin folder, which the test fills."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    return folder


@pytest.fixture
def fake_java(fake_path):
    """Put a `java` on PATH whose -version prints the given text, as java does."""

    def make(output, code=0):
        # A Python script: the fake PATH holds no `cat` for a shell script to call.
        text = repr(output + "\n")
        java = fake_path / "java"
        java.write_text(
            f"#!{sys.executable}\nimport sys\n"
            f"sys.stderr.write({text})\nsys.exit({code})\n"
        )
        java.chmod(0o755)

    return make


@pytest.fixture
def fake_sdk(tmp_path):
    """Make a Google Cloud CLI folder with a gcloud and the parts asked for."""

    def make(disable_updater=None, components=(), mappings=None):
        root = tmp_path / "google-cloud-sdk"
        (root / "bin").mkdir(parents=True)
        (root / "bin" / "gcloud").write_text("#!/bin/sh\n")
        (root / "bin" / "gcloud").chmod(0o755)
        (root / "platform").mkdir()
        if disable_updater is not None:
            config = root / "lib" / "googlecloudsdk" / "core" / "config.json"
            config.parent.mkdir(parents=True)
            config.write_text(json.dumps({"disable_updater": disable_updater}))
        if "app-engine-python" in components:
            script = root / "platform" / "google_appengine" / "dev_appserver.py"
            script.parent.mkdir()
            script.touch()
        if "cloud-datastore-emulator" in components:
            (root / "platform" / "cloud-datastore-emulator").mkdir()
        for name, text in (mappings or {}).items():
            (root / ".install").mkdir(exist_ok=True)
            (root / ".install" / name).write_text(text)
        return root

    return make


@pytest.mark.parametrize(
    ("output", "major"),
    [
        (JAVA_17, 17),
        (JAVA_8, 8),
        ('openjdk version "21" 2023-09-19', 21),
        ('openjdk version "11.0.2" 2019-01-15', 11),
        ('openjdk version "21-ea" 2023-09-19', 21),
        ("Picked up JAVA_TOOL_OPTIONS: -Dx=1\n" + JAVA_17, 17),
        ('java version "1.7.0_80"', 7),
        ("Error: could not find libjava.so", None),
        ("", None),
    ],
)
def test_parse_java_version(output, major):
    assert prereqs.parse_java_version(output) == major


def test_old_java_gives_one_line_naming_its_version(fake_java):
    fake_java(JAVA_8)

    java_lines = [line for line in prereqs.missing() if "Java" in line]

    assert len(java_lines) == 1
    assert java_lines[0].startswith("missing: Java 11 or newer")
    assert "found Java 8 at" in java_lines[0]


@pytest.mark.parametrize(
    ("output", "found"),
    [
        ('openjdk version "10.0.2" 2018-07-17', "found Java 10"),
        ('openjdk version "11.0.2" 2019-01-15', None),
        (JAVA_17, None),
        ('openjdk version "21" 2023-09-19', None),
    ],
)
def test_java_11_is_the_lowest_that_passes(fake_java, output, found):
    fake_java(output)

    problem = prereqs.java_problem()

    assert (problem is None) if found is None else (found in problem)


@pytest.mark.parametrize(
    ("output", "code"), [("java: bad installation", 0), (JAVA_17, 1)]
)
def test_java_of_unknown_version_is_one_line_not_a_crash(fake_java, output, code):
    fake_java(output, code)

    problem = prereqs.java_problem()

    assert problem.startswith("could not tell the version of")
    assert "Java 11 or newer" in problem
    assert "\n" not in problem


@pytest.mark.parametrize(
    ("disable_updater", "command"),
    [
        (True, "sudo apt-get install google-cloud-cli-datastore-emulator"),
        (False, "gcloud components install cloud-datastore-emulator"),
        (None, "gcloud components install cloud-datastore-emulator"),
    ],
)
def test_install_command_follows_how_the_cli_was_installed(
    fake_sdk, disable_updater, command
):
    root = fake_sdk(disable_updater=disable_updater)

    assert prereqs.install_command(root, "cloud-datastore-emulator") == command


def test_install_command_takes_the_clis_own_package_mapping(fake_sdk):
    # An RPM-style mapping, written here: this machine's CLI came from apt.
    root = fake_sdk(
        disable_updater=True,
        mappings={
            "command_mapping.yaml": "update: sudo dnf install {package}\n",
            "component_mapping.yaml": "app-engine-python: gae-python-from-sdk\n",
        },
    )

    command = prereqs.install_command(root, "app-engine-python")

    assert command == "sudo dnf install gae-python-from-sdk"


def test_missing_component_names_its_apt_package(fake_sdk, fake_path, fake_java):
    root = fake_sdk(disable_updater=True, components=["app-engine-python"])
    (fake_path / "gcloud").symlink_to(root / "bin" / "gcloud")
    fake_java(JAVA_17)

    assert prereqs.missing() == [
        "missing: the Google Cloud CLI component cloud-datastore-emulator; "
        "run 'sudo apt-get install google-cloud-cli-datastore-emulator'"
    ]


def test_detection_agrees_with_the_installed_cli(tmp_path):
    """The real gcloud's own config, and its own refusal, name our command."""
    root = prereqs.find_sdk_root()
    python = root and prereqs.sdk_python(root)
    assert python, "no Google Cloud CLI with its bundled Python (make test needs it)"
    lib = root / "lib"
    read_config = (
        f"import sys; sys.path[:0] = [{str(lib)!r}, {str(lib / 'third_party')!r}]\n"
        "from googlecloudsdk.core import config\n"
        "print(config.INSTALLATION_CONFIG.disable_updater)"
    )
    said = subprocess.run(
        [python, "-c", read_config], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert said == str(prereqs.package_managed(root))
    if said != "True":
        return  # on a standalone CLI, `gcloud components install` would install
    env = {**os.environ, "CLOUDSDK_CONFIG": str(tmp_path)}
    for component in prereqs.COMPONENTS:
        refusal = subprocess.run(
            [root / "bin" / "gcloud", "components", "install", component, "--quiet"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert refusal.returncode != 0
        assert prereqs.install_command(root, component) in refusal.stderr
