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

"""Execute the notebooks, and check that their committed outputs are current.

Usage: .venv/notebooks/bin/python scripts/notebooks.py check [NOTEBOOK ...]
       .venv/notebooks/bin/python scripts/notebooks.py run [NOTEBOOK ...]
       make test  (runs check)       make notebooks  (runs run)

Both run each notebook (default: notebooks/*.ipynb) top to bottom on a fresh
kernel, in notebooks/, with nbclient, and validate it with nbformat. `run`
writes the fresh outputs into the file. `check` changes nothing and fails if a
cell raises, if the notebook is invalid, or if its committed outputs are
stale: every text output (printed lines, values shown) must be exactly what a
fresh run prints, and every cell must show as many pictures as it did.
Pictures are compared by count, not by their bytes, which depend on the
plotting library's build.
"""

import argparse
import re
import sys
import time
from pathlib import Path

import nbclient
import nbformat

REPO = Path(__file__).resolve().parent.parent
FOLDER = REPO / "notebooks"
# A backstop for a hung cell; notebook 01's longest cell takes about 30 s here.
CELL_TIMEOUT_S = 180
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def execute(path):
    """Run the notebook at path top to bottom on a fresh kernel.

    Return (notebook, None), or (notebook so far, "cell N: Error: message")
    when a cell raises.
    """
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(FOLDER)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as err:
        return notebook, failed_cell(notebook) or ANSI.sub("", str(err)).strip()
    nbformat.validate(notebook)
    return notebook, None


def failed_cell(notebook):
    """Say which cell raised, and what: "cell N: Error: message"."""
    for number, cell in enumerate(notebook.cells, 1):
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                return f"cell {number}: {output['ename']}: {output['evalue']}"
    return None


def shown(cell):
    """Return what a code cell shows, in a form that does not vary by run.

    Each stream's text is compared whole, after the cell's other outputs: the
    kernel sends stdout and stderr (the log lines) on their own schedules, so
    how they interleave, and where among a cell's pictures, varies by run.
    """
    seen, streams = [], {}
    for output in cell.get("outputs", []):
        kind = output["output_type"]
        if kind == "stream":
            streams[output["name"]] = streams.get(output["name"], "") + output["text"]
        elif kind in ("display_data", "execute_result"):
            data = output["data"]
            picture = "image/png" in data or "image/svg+xml" in data
            seen.append(
                ("picture", "") if picture else ("value", data.get("text/plain"))
            )
        elif kind == "error":
            seen.append(("error", output["ename"]))
    return seen + sorted(streams.items())


def stale_cells(committed, fresh):
    """Return the numbers (1-based) of the code cells whose outputs differ."""
    pairs = zip(committed.cells, fresh.cells, strict=True)
    return [
        number
        for number, (old, new) in enumerate(pairs, 1)
        if old.cell_type == "code" and shown(old) != shown(new)
    ]


def pictures(notebook):
    """Count the pictures a notebook shows."""
    return sum(kind == "picture" for cell in notebook.cells for kind, _ in shown(cell))


def main():
    """Run or check the notebooks; print one line per notebook."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["run", "check"])
    parser.add_argument("notebooks", nargs="*", type=Path, metavar="NOTEBOOK")
    args = parser.parse_args()
    paths = args.notebooks or sorted(FOLDER.glob("*.ipynb"))
    failed = False
    for path in paths:
        if not path.is_file():
            print(f"error: no such notebook: {path}", file=sys.stderr)
            return 2
        started = time.monotonic()
        fresh, error = execute(path)
        if error:
            print(f"FAILED {path.name}: {error}", file=sys.stderr)
            failed = True
            continue
        seconds = time.monotonic() - started
        if args.action == "run":
            nbformat.write(fresh, path)
            print(f"ran {path.name} in {seconds:.1f} s; outputs written")
            continue
        stale = stale_cells(nbformat.read(path, as_version=4), fresh)
        if stale:
            cells = ", ".join(map(str, stale))
            print(
                f"FAILED {path.name}: committed outputs are stale in cell(s) {cells}; "
                "refresh them with `make notebooks`",
                file=sys.stderr,
            )
            failed = True
        else:
            print(
                f"ok {path.name}: ran in {seconds:.1f} s, outputs current, "
                f"{pictures(fresh)} pictures"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
