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

"""VisitMe: record each visit, show the newest, trim old ones in the background."""

import datetime
import decimal
import functools
import logging
import os
import urllib.parse

import grpc
from flask import Flask, render_template, request
from google.api_core import exceptions
from google.cloud import ndb, tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks import transports


def ndb_wsgi_middleware(wsgi_app):
    """Run each request in a Cloud NDB context (the client is made on first use)."""
    client = functools.cache(ndb.Client)

    def middleware(environ, start_response):
        with client().context():
            return wsgi_app(environ, start_response)

    return middleware


logging.basicConfig(level=logging.INFO)
app = Flask(__name__)
app.wsgi_app = ndb_wsgi_middleware(app.wsgi_app)

SHOWN = 10
TRIM_SLACK = int(os.environ.get("TRIM_SLACK", "10"))
QUEUE_NAME = os.environ.get("QUEUE_NAME", "default")
QUEUE_LOCATION = os.environ.get("QUEUE_LOCATION", "us-central1")
PROJECT = os.environ.get("GOOGLE_CLOUD_PROJECT", "")
BATCH_SIZE = 500  # keys per delete: the Datastore's limit for one commit
MAX_INDEXED_BYTES = 1500  # the Datastore's limit for an indexed string
EPOCH = datetime.datetime(1970, 1, 1)
# The Datastore's range of times, in epoch seconds: 0001-01-01 to 9999-12-31.
FIRST_SECOND = decimal.Decimal(-62135596800)  # 0001-01-01 00:00:00 UTC
LAST_SECOND = decimal.Decimal("253402300799.999999")  # 9999-12-31 23:59:59.999999
# Exact arithmetic: a digit that would be rounded away raises decimal.Inexact.
EXACT = decimal.Context(prec=40, traps=[decimal.Inexact])

DATASTORE_DOWN = (exceptions.ServiceUnavailable, exceptions.RetryError)
QUEUE_DOWN = (exceptions.GoogleAPIError,)


class Visit(ndb.Model):
    """One page view: who visited, when (UTC), and the trim it enqueued, if any."""

    visitor = ndb.StringProperty()
    timestamp = ndb.DateTimeProperty(auto_now_add=True)
    # Set on the visit that enqueued a trim: the trim's cutoff.
    trim_cutoff = ndb.DateTimeProperty(indexed=False)


@functools.cache
def tasks_client():
    """Return a Cloud Tasks client; CLOUD_TASKS_EMULATOR_HOST picks a local one."""
    if emulator := os.environ.get("CLOUD_TASKS_EMULATOR_HOST"):
        channel = grpc.insecure_channel(emulator)
        transport = transports.CloudTasksGrpcTransport(channel=channel)
        return tasks_v2.CloudTasksClient(transport=transport)
    return tasks_v2.CloudTasksClient()


def fit_indexed(text):
    """Cut text to the indexed-string limit, on a UTF-8 character boundary."""
    return text.encode("utf-8")[:MAX_INDEXED_BYTES].decode("utf-8", "ignore")


def header_text(value):
    """Return a header as the UTF-8 text it was sent as (WSGI gives latin-1)."""
    return value.encode("latin-1").decode("utf-8", "replace")


def store_visit(remote_addr, user_agent):
    """Store a Visit entity for this request; return it."""
    visitor = f"{remote_addr}: {header_text(user_agent)}"
    visit = Visit(visitor=fit_indexed(visitor))
    visit.put()
    return visit


def fetch_visits(limit, visit):
    """Return the newest visits, and the cutoff of the trim visit enqueued, if any."""
    data = Visit.query().order(-Visit.timestamp).fetch(limit + 1 + TRIM_SLACK)
    visits = data[:limit]
    if len(data) <= limit + TRIM_SLACK:
        return visits, None
    # A trim that one of the TRIM_SLACK + 1 newest enqueued may not have run yet.
    if any(newer.trim_cutoff for newer in data[: TRIM_SLACK + 1]):
        return visits, None
    oldest = visits[-1].timestamp
    visit.trim_cutoff = oldest  # first, so that concurrent pages see it soon
    visit.put()
    if enqueue_trim(oldest):
        return visits, oldest
    visit.trim_cutoff = None  # refused: no mark, so a later page tries again
    visit.put()
    return visits, None


def enqueue_trim(oldest):
    """Push a task that trims visits older than oldest; say if it was queued."""
    params = {"oldest": cutoff_text(oldest)}
    body = urllib.parse.urlencode(params).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    task = {"relative_uri": "/trim", "headers": headers, "body": body}
    queue = tasks_v2.CloudTasksClient.queue_path(PROJECT, QUEUE_LOCATION, QUEUE_NAME)
    try:
        tasks_client().create_task(parent=queue, task={"app_engine_http_request": task})
    except QUEUE_DOWN as err:
        logging.error(
            "Could not enqueue a trim of visits older than %s: %r", oldest, err
        )
        return False
    logging.info("Enqueued a trim of visits older than %s", oldest)
    return True


def cutoff_text(when):
    """Write a UTC datetime as exact epoch seconds, e.g. '1795738176.161915'."""
    micros = (when - EPOCH) // datetime.timedelta(microseconds=1)
    seconds, fraction = divmod(abs(micros), 10**6)
    return f"{'-' if micros < 0 else ''}{seconds}.{fraction:06d}"


def parse_cutoff(text):
    """Read exact epoch seconds as a UTC datetime; raise ValueError if bad."""
    if not isinstance(text, str):
        raise ValueError('cutoff "oldest" is missing or not a string')
    try:
        seconds = decimal.Decimal(text)
    except decimal.InvalidOperation:
        raise ValueError(f"cutoff is not a number: {text[:40]!r}") from None
    if not seconds.is_finite():
        raise ValueError(f"cutoff is not finite: {text[:40]!r}")
    if not FIRST_SECOND <= seconds <= LAST_SECOND:
        raise ValueError(f"cutoff is out of range: {text[:40]!r}")
    try:
        micros = seconds.scaleb(6, EXACT).to_integral_exact(context=EXACT)
    except decimal.Inexact:
        raise ValueError(f"cutoff is finer than a microsecond: {text[:40]!r}") from None
    return EPOCH + datetime.timedelta(microseconds=int(micros))


def cutoff_from_task():
    """Return the cutoff that the push task carries; raise ValueError if bad."""
    if request.mimetype != "application/x-www-form-urlencoded":
        raise ValueError(f"unexpected content type {request.mimetype!r}")
    return parse_cutoff(request.form.get("oldest"))


def trim_older_than(oldest):
    """Delete every visit older than oldest, in batches; return how many."""
    query = Visit.query(Visit.timestamp < oldest)
    deleted, cursor, more = 0, None, True
    while more:
        keys, cursor, more = query.fetch_page(
            BATCH_SIZE, keys_only=True, start_cursor=cursor
        )
        if keys:
            ndb.delete_multi(keys)
            deleted += len(keys)
            logging.info(
                "Deleted %d visits older than %s: %s",
                len(keys),
                oldest,
                ", ".join(str(key.id()) for key in keys),
            )
    return deleted


@app.route("/trim", methods=["POST"])
def trim():
    """(push task) Delete the visits older than the cutoff the task carries."""
    if "X-AppEngine-QueueName" not in request.headers:
        logging.warning("Refused /trim from outside the task queue")
        return "Forbidden: only the task queue may call /trim.\n", 403
    try:
        oldest = cutoff_from_task()
    except ValueError as err:
        logging.warning("Refused a malformed trim task: %s", err)
        return f"Bad request: {err}.\n", 400
    deleted = trim_older_than(oldest)
    if not deleted:
        logging.info("No visits older than %s to delete", oldest)
    return f"Deleted {deleted} visits.\n"


@app.route("/")
def root():
    """Record this visit and show the newest ones."""
    visit = store_visit(request.remote_addr, request.user_agent.string)
    visits, oldest = fetch_visits(SHOWN, visit)
    return render_template("index.html", visits=visits, oldest=oldest)


def datastore_unavailable(err):
    """Answer 503 with a short message when the datastore cannot be reached."""
    logging.error("Datastore unavailable: %r", err)
    return (
        "Service unavailable: the datastore cannot be reached. "
        "Please try again shortly.\n",
        503,
        {"Content-Type": "text/plain"},
    )


for error in DATASTORE_DOWN:
    app.register_error_handler(error, datastore_unavailable)
