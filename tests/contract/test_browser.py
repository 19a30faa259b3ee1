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

"""SPEC items 2 and 4 in a real browser: Debian's Chromium, driven by Playwright.

`make test` installs Chromium from Debian's packages (the `browser` target);
Playwright drives that binary, so nothing downloads a browser of its own.
"""

import shutil

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As this machine's network is closed, Chromium must not try to phone home.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for the module's tests."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.mark.spec(2, 4)
def test_a_browser_sees_the_visits_and_a_script_user_agent_never_runs(site, browser):
    for number in range(10):
        site.visit(f"earlier-{number}")
    hostile = browser.new_context(user_agent=HOSTILE)
    hostile.new_page().goto(site.url + "/")
    hostile.close()

    page = browser.new_page()
    page.goto(site.url + "/")

    items = page.locator("li")
    assert items.count() == 10
    assert HOSTILE in page.locator("ul").inner_text()  # shown as text
    assert page.evaluate("window.pwned") is None  # and never run
    assert page.locator("ul img").count() == 0
    page.close()
