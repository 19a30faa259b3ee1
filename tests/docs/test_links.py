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

"""Every link between the repository's Markdown files reaches its file and,
with a #fragment, a heading there, by GitHub's rule for heading anchors."""

import re

import pytest

import stages

REPO = stages.REPO
DOCS = sorted(
    path
    for path in REPO.glob("**/*.md")
    if ".venv" not in path.parts and ".git" not in path.parts
)
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(path):
    """The #fragments GitHub gives a Markdown file's headings."""
    found = set()
    for heading in re.findall(r"^#+ (.*)$", path.read_text(), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


def links():
    """(file, target) for each relative link in the Markdown files."""
    found = []
    for doc in DOCS:
        text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.DOTALL)
        for target in LINK.findall(text):
            if not re.match(r"[a-z]+:", target):  # not http:, https:, mailto:
                found.append((doc.relative_to(REPO).as_posix(), target))
    return found


def test_there_are_links_to_check():
    assert len(links()) >= 20


@pytest.mark.parametrize("doc, target", links())
def test_link_reaches_its_file_and_heading(doc, target):
    path, _, fragment = target.partition("#")
    reached = (REPO / doc).parent / path if path else REPO / doc

    assert reached.exists(), f"{doc}: {target} names no file"
    if reached.is_dir():
        reached = reached / "README.md"  # what GitHub shows for a folder
    if fragment and reached.suffix == ".md":
        assert fragment in anchors(reached), f"{doc}: no heading #{fragment}"
