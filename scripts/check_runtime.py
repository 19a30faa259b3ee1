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

"""Check that each stage's pinned requirements install on its App Engine runtime.

Usage: python3 scripts/check_runtime.py [--offline] [--cache-dir DIR] STAGE [STAGE ...]

For each STAGE folder it reads the runtime from app.yaml (`runtime: python314`
is Python 3.14) and checks two things, as App Engine's build would meet them:

1. Wheels. `pip download --only-binary=:all: --python-version 3.14
   --implementation cp --platform manylinux_2_35_x86_64 ... -r requirements.txt`
   resolves the pins and every dependency to wheels for that CPython on Linux
   x86_64: ABI cp314, abi3 or none, manylinux up to glibc 2.35 (Ubuntu 22.04,
   python311's OS; a runtime on a newer Ubuntu loads at least these wheels).
2. pip check. No interpreter of the runtime's version is needed: the check
   reads the METADATA of each wheel (Name, Version, Requires-Python,
   Requires-Dist) and evaluates its markers for that Python on Linux x86_64,
   with pip's own `packaging` (App Engine runs the newest patch release, so
   python_full_version is taken as 3.14.99). Starting from requirements.txt,
   it follows the dependencies to the set the runtime would install, and
   requires of every wheel in it what `pip check` requires of an installed
   environment: each dependency is in the set, at a version its specifier
   allows (pre-releases count). It also follows extras, as pip install does,
   and checks each wheel's Requires-Python; the wheels' tags are right by
   construction. pip evaluates markers for the Python that runs it, not for
   --python-version, so a dependency that only the runtime's Python needs is
   downloaded in a further pass, resolved together with the pins.

Prints one line per stage, `ok STAGE: N wheels for Python 3.14, pip check
clean` or `FAILED STAGE: why`, and exits 1 if any failed. A folder that is not
a stage, has no requirements.txt, or whose runtime is not python3NN exits 2
with one line, before anything is downloaded.

Downloaded wheels are kept in --cache-dir (default $CHECK_RUNTIME_CACHE, else
.venv/check-runtime/, git-ignored), with pip's output for each stage in
logs/STAGE.log. pip still asks the package index what the newest dependencies
are, as App Engine does at deploy time; --offline resolves from the cache only
(quick, but blind to releases since the cache was filled).
"""

import argparse
import concurrent.futures
import email.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# pip's own copy of `packaging`: the script needs pip anyway, and nothing else.
from pip._vendor.packaging.requirements import InvalidRequirement, Requirement
from pip._vendor.packaging.specifiers import SpecifierSet
from pip._vendor.packaging.utils import canonicalize_name
from pip._vendor.packaging.version import Version

import stages

CACHE_ENV = "CHECK_RUNTIME_CACHE"
DEFAULT_CACHE = stages.VENVS / "check-runtime"
GLIBC_MINOR = 35  # Ubuntu 22.04
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(GLIBC_MINOR, 4, -1)]
PLATFORMS += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
# App Engine runs the newest patch release of the runtime's Python; pip and the
# markers see it as 3.N.99, so `python_full_version < "3.11.3"` is false.
NEWEST_PATCH = 99
MAX_PASSES = 4  # a dependency only the target Python needs can bring more


class BadInput(Exception):
    """A folder this script cannot check, told in one line (exit 2)."""


class Failed(Exception):
    """A stage whose requirements do not install on its runtime, in one line."""


def runtime_python(stage):
    """Return the Python version of a stage's runtime, e.g. '3.14'."""
    if not stage.runtime:
        raise BadInput(f"{stage.name}: app.yaml has no runtime line")
    if not stage.runtime_python:
        raise BadInput(
            f"{stage.name}: app.yaml has runtime {stage.runtime}, not python3NN"
        )
    return stage.runtime_python


def load_stage(path):
    """Return the Stage at path, from here or, failing that, the repository."""
    return stages.load(Path(path).resolve() if Path(path).is_dir() else path)


def read_requirements(stage):
    """Return the Requirements of a stage's requirements.txt."""
    path = stage.folder / "requirements.txt"
    if not path.is_file():
        raise BadInput(f"{stage.name} has no requirements.txt")
    requirements = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#")[0].strip()
        where = f"{stage.name}/requirements.txt line {number}"
        if line.startswith("-"):
            raise BadInput(f"{where}: pip options are not supported here")
        try:
            requirements += [Requirement(line)] if line else []
        except InvalidRequirement as err:
            raise BadInput(f"{where}: {err}") from None
    return requirements


def target_environment(version):
    """The marker environment of CPython `version` on Linux x86_64."""
    full = f"{version}.{NEWEST_PATCH}"
    return {
        "implementation_name": "cpython",
        "implementation_version": full,
        "os_name": "posix",
        "platform_machine": "x86_64",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": full,
        "python_version": version,
        "sys_platform": "linux",
    }


def pip_download(version, requirements, cache, dest, log, offline):
    """Download wheels for `requirements` into dest; raise Failed if pip cannot."""
    command = [sys.executable, "-m", "pip", "download", "--only-binary=:all:"]
    command += ["--python-version", f"{version}.{NEWEST_PATCH}"]
    command += ["--implementation", "cp"]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    command += ["--find-links", str(cache), "--dest", str(dest)]
    command += ["--no-index"] if offline else []
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    done = subprocess.run(
        [*command, *requirements], capture_output=True, text=True, env=env
    )
    log.write(f"$ {' '.join(command)} {' '.join(requirements)}\n")
    log.write(done.stdout + done.stderr)
    if done.returncode != 0:
        raise Failed(pip_error(done.stdout + done.stderr, version, offline))


def pip_error(output, version, offline):
    """Say in one line why pip could not download, from its output."""
    missing = re.search(r"No matching distribution found for (\S+)", output)
    if "Retrying (Retry(" in output and not offline:
        return "pip could not reach the package index"
    if missing:
        where = "in the cache (--offline)" if offline else "on Linux x86_64"
        return f"no wheel of {missing.group(1)} for Python {version} {where}"
    errors = [line for line in output.splitlines() if line.startswith("ERROR: ")]
    if errors:
        return "pip: " + errors[0][len("ERROR: ") :]
    return "pip download failed"


def read_wheels(folder):
    """Return {canonical name: (name, Version, Requires-Python, [Requirement])}."""
    dists = {}
    for wheel in sorted(folder.glob("*.whl")):
        with zipfile.ZipFile(wheel) as archive:
            names = [n for n in archive.namelist() if n.count("/") == 1]
            (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
            text = archive.read(metadata).decode("utf-8")
        fields = email.parser.Parser().parsestr(text, headersonly=True)
        try:
            requires = [Requirement(r) for r in fields.get_all("Requires-Dist", [])]
            version = Version(fields["Version"])
        except ValueError as err:  # InvalidRequirement, InvalidVersion
            raise Failed(f"{wheel.name} has broken METADATA: {err}") from None
        dists[canonicalize_name(fields["Name"])] = (
            fields["Name"],
            version,
            fields["Requires-Python"],
            requires,
        )
    return dists


def spec_text(requirement):
    """A requirement without its marker, as pip download takes it."""
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{requirement.specifier}"


def pip_check(roots, dists, version):
    """Follow roots through dists for `version`; return (set, missing, problems).

    The set is what the runtime would install; missing are requirements no
    wheel in dists provides; problems are pip check's complaints about the rest.
    """
    environment = target_environment(version)

    def applies(requirement, extra):
        """Whether the runtime needs requirement, for this extra ('' for none)."""
        marker = requirement.marker
        if marker is None:
            return extra == ""
        if extra and marker.evaluate({**environment, "extra": ""}):
            return False  # already followed without the extra
        return marker.evaluate({**environment, "extra": extra})

    queue = [("requirements.txt", r) for r in roots if applies(r, "")]
    chosen, missing, problems = {}, [], []
    while queue:
        wanted_by, requirement = queue.pop(0)
        key = canonicalize_name(requirement.name)
        if key not in dists:
            missing.append(requirement)
            continue
        name, have, requires_python, requires = dists[key]
        if not requirement.specifier.contains(have, prereleases=True):
            problems.append(
                f"{wanted_by} requires {spec_text(requirement)}, "
                f"but the set has {name} {have}"
            )
        new_extras = {""} if key not in chosen else set()
        new_extras |= set(requirement.extras) - chosen.get(key, set())
        chosen.setdefault(key, set()).update(new_extras)
        if "" in new_extras and requires_python:
            allowed = SpecifierSet(requires_python)
            if not allowed.contains(f"{version}.{NEWEST_PATCH}", prereleases=True):
                problems.append(f"{name} {have} requires Python {requires_python}")
        for extra in sorted(new_extras):
            queue += [(f"{name} {have}", r) for r in requires if applies(r, extra)]
    return {key: dists[key] for key in chosen}, missing, problems


def check_stage(stage, version, roots, cache, offline):
    """Check one stage; return how many wheels it installs, or raise Failed."""
    wanted = [str(root) for root in roots]
    (cache / "logs").mkdir(parents=True, exist_ok=True)
    log_path = cache / "logs" / f"{stage.name}.log"
    with open(log_path, "w") as log, tempfile.TemporaryDirectory() as tmp:
        for attempt in range(MAX_PASSES):
            dest = Path(tmp) / str(attempt)
            pip_download(version, wanted, cache / "wheels", dest, log, offline)
            keep_in_cache(dest, cache / "wheels")
            chosen, missing, problems = pip_check(roots, read_wheels(dest), version)
            if not missing:
                break
            # Needed only on the runtime's Python: resolve it with the pins.
            wanted += sorted({spec_text(r) for r in missing} - set(wanted))
    if missing:
        raise Failed(f"nothing provides {spec_text(missing[0])} on Python {version}")
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise Failed(f"pip check on Python {version}: {problems[0]}{more}")
    return len(chosen)


def keep_in_cache(dest, cache):
    """Copy new wheels from dest into the cache, each appearing whole."""
    cache.mkdir(parents=True, exist_ok=True)
    for wheel in dest.glob("*.whl"):
        if not (cache / wheel.name).exists():
            handle, partial = tempfile.mkstemp(dir=cache, prefix=".", suffix=".part")
            os.close(handle)
            shutil.copyfile(wheel, partial)
            os.replace(partial, cache / wheel.name)


def report(stage, version, roots, cache, offline):
    """Check one stage; return its line and whether it passed."""
    try:
        count = check_stage(stage, version, roots, cache, offline)
    except Failed as err:
        return f"FAILED {stage.name}: {err}", False
    return (
        f"ok {stage.name}: {count} wheels for Python {version}, pip check clean",
        True,
    )


def main(argv=None):
    """Check each stage named on the command line; print one line for each."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        usage="%(prog)s [--offline] [--cache-dir DIR] STAGE [STAGE ...]",
    )
    parser.add_argument("stages", nargs="+", metavar="STAGE", help="stage folders")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE),
        help=f"wheels and logs (default ${CACHE_ENV}, else .venv/check-runtime)",
    )
    parser.add_argument(
        "--offline", action="store_true", help="resolve from the cache only"
    )
    args = parser.parse_args(argv)
    try:
        checks = []
        for name in args.stages:
            stage = load_stage(name)
            checks.append((stage, runtime_python(stage), read_requirements(stage)))
    except (stages.NotAStage, BadInput) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # pip spends its time waiting on the index and parsing: run the stages at once.
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
        runs = [pool.submit(report, *c, args.cache_dir, args.offline) for c in checks]
        passed = True
        for run in runs:
            line, ok = run.result()
            print(line, flush=True)
            passed = passed and ok
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
