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

"""scripts/check_runtime.py: each stage's pins install on its runtime's Python.

The real stages are checked against the package index, as App Engine's build
resolves them. The failures use a copy of a stage in tmp_path; those about
dependency metadata use small wheels made here and --offline, so that they
need no made-up package on the index.
"""

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "check_runtime.py"
STAGES = ["mod7-gaetasks", "mod8-cloudtasks", "mod9-py3"]


def check(*args, cwd=REPO):
    """Run check_runtime.py; return (exit code, stdout, stderr)."""
    done = subprocess.run(
        [sys.executable, SCRIPT, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=240,
    )
    return done.returncode, done.stdout, done.stderr


def copy_stage(tmp_path, requirements, runtime="python314", name="mod9-copy"):
    """Copy mod9-py3 into tmp_path with other requirements and runtime."""
    folder = tmp_path / name
    shutil.copytree(REPO / "mod9-py3", folder, ignore=shutil.ignore_patterns("__*"))
    (folder / "requirements.txt").write_text("\n".join(requirements) + "\n")
    app_yaml = folder / "app.yaml"
    app_yaml.write_text(
        re.sub(r"(?m)^runtime: .*$", f"runtime: {runtime}", app_yaml.read_text())
    )
    return folder


def make_wheel(cache, name, version, requires=()):
    """Write a pure-Python wheel with these Requires-Dist lines into cache/wheels."""
    dist = f"{name.replace('-', '_')}-{version}"
    metadata = [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}"]
    metadata += [f"Requires-Dist: {line}" for line in requires]
    (cache / "wheels").mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(cache / "wheels" / f"{dist}-py3-none-any.whl", "w") as whl:
        whl.writestr(f"{dist}.dist-info/METADATA", "\n".join(metadata) + "\n")
        whl.writestr(
            f"{dist}.dist-info/WHEEL",
            "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        whl.writestr(f"{dist}.dist-info/RECORD", "")


def test_every_stage_installs_on_its_runtime():
    code, out, err = check(*STAGES)

    assert (code, err) == (0, ""), out
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == [f"ok {s}" for s in STAGES]
    assert "for Python 3.14, pip check clean" in lines[2]


def test_a_pin_without_a_wheel_for_the_runtime_fails_in_one_line(tmp_path):
    pins = (REPO / "mod9-py3" / "requirements.txt").read_text().split()
    folder = copy_stage(tmp_path, [*pins, "grpcio==1.48.2"])  # wheels up to cp311

    code, out, err = check(folder, "--cache-dir", tmp_path / "cache")

    assert (code, err) == (1, "")
    assert out == (
        "FAILED mod9-copy: no wheel of grpcio==1.48.2 for Python 3.14 on Linux x86_64\n"
    )


def test_two_pins_that_conflict_fail_in_one_line(tmp_path):
    cache = tmp_path / "cache"
    make_wheel(cache, "demo-app", "1.0", ["demo-lib<2"])
    make_wheel(cache, "demo-lib", "2.0")
    folder = copy_stage(tmp_path, ["demo-app==1.0", "demo-lib==2.0"])

    code, out, _ = check(folder, "--offline", "--cache-dir", cache)

    assert code == 1
    assert out.startswith("FAILED mod9-copy: pip: Cannot install demo-app==1.0 and")
    assert len(out.splitlines()) == 1


@pytest.mark.parametrize(
    ("runtime", "line"),
    [
        ("python311", "ok mod9-copy: 2 wheels for Python 3.11, pip check clean"),
        (
            "python314",
            "FAILED mod9-copy: pip check on Python 3.14: "
            "demo-app 1.0 requires demo-lib<2, but the set has demo-lib 2.0",
        ),
    ],
    ids=["python311", "python314"],
)
def test_markers_are_read_for_the_runtimes_python(tmp_path, runtime, line):
    # pip itself reads markers for the Python that runs it (3.11 here), and so
    # resolves these pins for either runtime.
    cache = tmp_path / "cache"
    make_wheel(cache, "demo-app", "1.0", ['demo-lib<2; python_version >= "3.12"'])
    make_wheel(cache, "demo-lib", "2.0")
    folder = copy_stage(tmp_path, ["demo-app==1.0", "demo-lib==2.0"], runtime)

    code, out, _ = check(folder, "--offline", "--cache-dir", cache)

    assert out == line + "\n"
    assert code == (0 if line.startswith("ok") else 1)


def test_a_dependency_only_the_runtimes_python_needs_is_fetched(tmp_path):
    cache = tmp_path / "cache"
    make_wheel(cache, "demo-app", "1.0", ['demo-new; python_version >= "3.12"'])
    make_wheel(cache, "demo-new", "1.0")
    folder = copy_stage(tmp_path, ["demo-app==1.0"])

    code, out, _ = check(folder, "--offline", "--cache-dir", cache)

    assert out == "ok mod9-copy: 2 wheels for Python 3.14, pip check clean\n"
    assert code == 0


def test_a_folder_without_app_yaml_exits_2_in_one_line(tmp_path):
    code, out, err = check(tmp_path)

    assert (code, out) == (2, "")
    assert err == f"error: {tmp_path.name} is not a stage folder: it has no app.yaml\n"


def test_a_runtime_that_is_not_python3_exits_2_in_one_line(tmp_path):
    folder = copy_stage(tmp_path, ["Flask==3.1.3"], runtime="nodejs22")

    code, out, err = check(folder)

    assert (code, out) == (2, "")
    assert err == "error: mod9-copy: app.yaml has runtime nodejs22, not python3NN\n"


def test_help_says_what_is_checked():
    code, out, _ = check("--help")

    assert code == 0
    assert out.startswith("usage: check_runtime.py")
    assert "--offline" in out
