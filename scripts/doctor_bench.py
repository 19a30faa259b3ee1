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

"""Measure scripts/doctor on a large generated app: Python files read per second.

Usage: python3 scripts/doctor_bench.py [--files N] [--share S]
       make doctor-bench [FILES=N]

Writes N Python files (default 5000) into a temporary folder, in folders of
50: a share S of them (default 0.05) are the doctor's own fixture files,
Python 3 and Python 2, which use Task Queue; the rest are 200-line modules
that name none of it, as most of a real app is. Then runs the doctor's scan
on the folder three times and prints the best run: files, findings, seconds,
files per second. Stdlib only; it deletes the folder at the end.
"""

import argparse
import importlib.machinery
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "doctor" / "fixtures"
FILLER = "\n".join(
    f"def handler_{n}(request, limit={n}):\n"
    f'    """Return the {n}th page of results."""\n'
    f"    rows = [row for row in request.rows if row.size < limit]\n"
    f"    return {{'page': {n}, 'rows': rows}}\n"
    for n in range(40)
)


def load_doctor():
    """Import scripts/doctor (a script without .py) as a module."""
    loader = importlib.machinery.SourceFileLoader(
        "doctor", str(REPO / "scripts/doctor")
    )
    module = importlib.util.module_from_spec(
        importlib.util.spec_from_loader("doctor", loader)
    )
    loader.exec_module(module)
    return module


def write_tree(root, files, share):
    """Write the generated app; return how many files use Task Queue."""
    users = sorted(FIXTURES.rglob("*.py"))
    every = max(1, round(1 / share)) if share > 0 else files + 1
    using = 0
    for number in range(files):
        folder = root / f"pkg{number // 50}"
        folder.mkdir(exist_ok=True)
        if number % every == 0:
            source = users[using % len(users)].read_bytes()
            using += 1
        else:
            source = FILLER.encode()
        (folder / f"module_{number}.py").write_bytes(source)
    return using


def positive(text):
    """An argparse type: an int above 0."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"not above 0: {text}")
    return value


def main(argv=None):
    """Generate, scan, print one line of numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=positive, default=5000)
    parser.add_argument("--share", type=float, default=0.05)
    args = parser.parse_args(argv)
    if not 0 <= args.share <= 1:
        print("error: --share is a fraction from 0 to 1", file=sys.stderr)
        return 2
    doctor = load_doctor()
    with tempfile.TemporaryDirectory(prefix="doctor-bench-") as folder:
        using = write_tree(Path(folder), args.files, args.share)
        best, report = None, None
        for _ in range(3):
            start = time.perf_counter()
            report = doctor.scan([folder])
            elapsed = time.perf_counter() - start
            best = elapsed if best is None else min(best, elapsed)
    print(
        f"{report.files} Python files ({using} using Task Queue), "
        f"{len(report.findings)} findings, {best:.2f} s, "
        f"{report.files / best:.0f} files/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
