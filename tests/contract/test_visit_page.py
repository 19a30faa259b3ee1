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

"""SPEC items 1-4 and 11: the visit page, over HTTP, on every stage."""

import collections
import concurrent.futures
import datetime

import pytest

from stage import page_cutoff, page_times


@pytest.mark.spec(1)
def test_visit_is_stored_with_visitor_and_utc_microseconds(site):
    before = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    response = site.visit("spec-1")
    after = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    assert response.status_code == 200
    [(timestamp, visitor)] = site.storage.visits()
    assert visitor == "127.0.0.1: spec-1"
    assert before - datetime.timedelta(seconds=1) <= timestamp <= after
    assert page_times(response.text) == [timestamp]  # shown to the microsecond


@pytest.mark.spec(2)
def test_page_lists_ten_newest_first_including_this_visit(site):
    site.storage.put_recent(15)

    response = site.visit("the-newest")

    times = page_times(response.text)
    stored = sorted((t for t, _ in site.storage.visits()), reverse=True)
    assert len(times) == 10
    assert times == stored[:10]
    assert response.text.index("the-newest") < response.text.index("seed")


@pytest.mark.spec(2)
def test_every_page_shows_its_own_visit(site):
    for number in range(12):
        assert f"reader-{number}<" in site.visit(f"reader-{number}").text


@pytest.mark.spec(3, 11)
@pytest.mark.parametrize("stored, shows_cutoff", [(19, False), (20, True)])
def test_cutoff_is_shown_only_when_a_trim_is_enqueued(site, stored, shows_cutoff):
    site.storage.put_recent(stored)

    html = site.visit().text

    assert (page_cutoff(html) is not None) == shows_cutoff
    if shows_cutoff:
        assert page_cutoff(html) == page_times(html)[-1]


@pytest.mark.spec(4)
def test_html_in_user_agent_is_escaped(site):
    html = site.visit("<script>alert('x')</script><b>bold</b>").text

    assert "<script>alert" not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(" in html


@pytest.mark.spec(4)
def test_non_ascii_user_agent_is_kept(site):
    agent = "Mozilla/5.0 (Zürich; 日本語; Ωmega)"

    response = site.visit(agent.encode("utf-8"))

    assert response.status_code == 200
    assert f"127.0.0.1: {agent}" in response.text
    assert site.storage.visits()[0][1] == f"127.0.0.1: {agent}"


@pytest.mark.spec(4)
@pytest.mark.parametrize("agent", ["a" * 3000, "é" * 1500, "x" + "日本" * 600])
def test_long_user_agent_is_shortened_on_a_character_boundary(site, agent):
    response = site.visit(agent.encode("utf-8"))

    assert response.status_code == 200
    [(_, visitor)] = site.storage.visits()
    assert len(visitor.encode("utf-8")) <= 1500
    assert len(visitor.encode("utf-8")) > 1500 - 4
    assert f"127.0.0.1: {agent}".startswith(visitor)


@pytest.mark.spec(4)
def test_invalid_utf8_in_user_agent_is_not_an_error(site):
    response = site.visit(b"bad \xff\xfe bytes")

    assert response.status_code == 200
    assert "bad" in site.storage.visits()[0][1]


@pytest.mark.spec(11)
def test_steady_traffic_enqueues_one_trim_per_slack_plus_one_visits(site):
    mark = site.log_mark()

    for number in range(66):
        site.visit(f"steady-{number}")
        # Let each enqueued trim run before the next visit, as in light traffic.
        site.wait_for(lambda: site.storage.count() <= 20, timeout=10)

    log = site.log_since(mark, until=lambda log: log.count("Enqueued a trim") >= 5)
    enqueued = log.count("Enqueued a trim")
    assert 5 <= enqueued <= 6  # 66 visits / (TRIM_SLACK 10 + 1), after the first 10
    assert site.storage.count() <= 20


@pytest.mark.spec(11)
def test_storage_settles_at_most_ten_plus_slack_after_traffic_stops(site):
    for number in range(200):
        site.visit(f"burst-{number}")

    settled = site.wait_for(lambda: site.storage.count() <= 20, timeout=30)

    assert settled, f"{site.storage.count()} visits still stored"
    assert len(page_times(site.visit().text)) == 10


# No SPEC item: an unknown path or method must still get a plain HTTP answer.
# scripts/verify reports this test by name if it fails.
@pytest.mark.parametrize(
    "method, path, status",
    [
        ("GET", "/no-such-page", 404),
        ("GET", "/trim", 405),
        ("DELETE", "/", 405),
    ],
)
def test_unknown_paths_and_methods_are_not_errors(site, method, path, status):
    response = site.session.request(method, f"{site.url}{path}")

    assert response.status_code == status


@pytest.mark.spec(2, 11)
def test_load_of_8_clients_gets_no_errors_and_storage_converges(site):
    site.storage.put_recent(10)  # so that every page, even the first, has 10 to list

    def one_visit(number):
        response = site.session.get(
            f"{site.url}/", headers={"User-Agent": f"load-{number}"}, timeout=60
        )
        return response.status_code, page_times(response.text)

    with concurrent.futures.ThreadPoolExecutor(8) as clients:
        answers = list(clients.map(one_visit, range(400)))

    statuses = collections.Counter(status for status, _ in answers)
    assert statuses == {200: 400}, f"answers under load: {dict(statuses)}"
    bad = [
        times
        for _, times in answers
        if len(times) != 10 or times != sorted(times, reverse=True)
    ]
    assert not bad, f"{len(bad)} pages did not list 10 visits newest first"
    settled = site.wait_for(lambda: site.storage.count() <= 20, timeout=60)
    assert settled, f"{site.storage.count()} visits stored a minute after the load"
