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

"""What the docs' and the scripts' tests share: checking gcloud commands
against the installed Google Cloud CLI, which cannot run them here."""

import functools
import os
import re
import subprocess

import pytest

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@functools.cache
def gcloud_help(args):
    """The text of `gcloud ARGS --help`, asked once per command."""
    done = subprocess.run(
        ["gcloud", *args, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CLOUDSDK_CORE_DISABLE_PROMPTS": "1", "PAGER": "cat"},
    )
    assert done.returncode == 0, done.stderr[-500:]
    return ANSI.sub("", done.stdout)


@pytest.fixture(scope="session")
def missing_gcloud_flags():
    """Return missing(args, words): the --flags in words that the help of
    `gcloud ARGS` does not list (an exact name, not a prefix of a longer one)."""

    def missing(args, words):
        flags = {word.split("=", 1)[0] for word in words if word.startswith("--")}
        text = gcloud_help(tuple(args))
        return sorted(f for f in flags if not re.search(rf"{f}(?![\w-])", text))

    return missing
