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

import dataclasses
import datetime
import decimal
import functools
import json
import logging
import os
import sys
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Self

import grpc
from flask import Flask, render_template, request
from google.api_core import exceptions
from google.cloud import ndb, tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks import transports

UTC = datetime.UTC

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the app reads from its environment, once (app.yaml sets it)."""

    project: str
    queue_name: str
    queue_location: str
    trim_slack: int
    tasks_emulator: str | None  # Cloud NDB reads DATASTORE_EMULATOR_HOST itself.

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Self:
        """Read the settings; raise ValueError naming a bad value."""
        trim_slack = env.get("TRIM_SLACK", "10")
        if not trim_slack.isdigit():
            raise ValueError(f"TRIM_SLACK must be a whole number >= 0: {trim_slack!r}")
        return cls(
            project=env.get("GOOGLE_CLOUD_PROJECT", ""),
            queue_name=env.get("QUEUE_NAME", "default"),
            queue_location=env.get("QUEUE_LOCATION", "us-central1"),
            trim_slack=int(trim_slack),
            tasks_emulator=env.get("CLOUD_TASKS_EMULATOR_HOST") or None,
        )

    @property
    def queue_path(self) -> str:
        """The queue's full name in Cloud Tasks."""
        return tasks_v2.CloudTasksClient.queue_path(
            self.project, self.queue_location, self.queue_name
        )


class JsonFormatter(logging.Formatter):
    """Write each record as one JSON line, which Cloud Logging reads as fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as {"severity", "message", ...its json_fields}."""
        # The base format() puts a traceback after the message: Error Reporting
        # reads it there, in the "message" field of a JSON log entry
        # (https://cloud.google.com/error-reporting/docs/formatting-error-messages).
        entry = {"severity": record.levelname, "message": super().format(record)}
        return json.dumps(entry | getattr(record, "json_fields", {}))


def ndb_wsgi_middleware(wsgi_app: WsgiApp) -> WsgiApp:
    """Run each request in a Cloud NDB context (the client is made on first use)."""
    client = functools.cache(ndb.Client)

    def middleware(
        environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        with client().context():
            return wsgi_app(environ, start_response)

    return middleware


def configure_logging() -> None:
    """Send INFO and above to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])


try:
    settings = Settings.from_env()
except ValueError as err:
    # Exit 4 is gunicorn's APP_LOAD_ERROR: its arbiter then stops the server, where
    # any other code (1, from SystemExit("...")) has it boot the worker again, forever.
    print(f"Bad configuration: {err}", file=sys.stderr)
    raise SystemExit(4) from None
configure_logging()
app = Flask(__name__)
app.wsgi_app = ndb_wsgi_middleware(app.wsgi_app)  # type: ignore[method-assign,assignment]

SHOWN = 10
BATCH_SIZE = 500  # keys per delete: the Datastore's limit for one commit
MAX_INDEXED_BYTES = 1500  # the Datastore's limit for an indexed string
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
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
    timestamp = ndb.DateTimeProperty(auto_now_add=True, tzinfo=UTC)
    # Set on the visit that enqueued a trim: the trim's cutoff.
    trim_cutoff = ndb.DateTimeProperty(indexed=False, tzinfo=UTC)


@functools.cache
def tasks_client() -> tasks_v2.CloudTasksClient:
    """Return a Cloud Tasks client; a set emulator address picks a local one."""
    if emulator := settings.tasks_emulator:
        channel = grpc.insecure_channel(emulator)
        transport = transports.CloudTasksGrpcTransport(channel=channel)
        return tasks_v2.CloudTasksClient(transport=transport)
    return tasks_v2.CloudTasksClient()


def fit_indexed(text: str) -> str:
    """Cut text to the indexed-string limit, on a UTF-8 character boundary."""
    return text.encode("utf-8")[:MAX_INDEXED_BYTES].decode("utf-8", "ignore")


def header_text(value: str) -> str:
    """Return a header as the UTF-8 text it was sent as (WSGI gives latin-1)."""
    return value.encode("latin-1").decode("utf-8", "replace")


def store_visit(remote_addr: str | None, user_agent: str) -> Visit:
    """Store a Visit entity for this request; return it."""
    visitor = f"{remote_addr}: {header_text(user_agent)}"
    # ndb.Model's constructor has no type hints.
    visit = Visit(visitor=fit_indexed(visitor))  # type: ignore[no-untyped-call]
    visit.put()
    return visit


def fetch_visits(
    limit: int, visit: Visit
) -> tuple[list[Visit], datetime.datetime | None]:
    """Return the newest visits, and the cutoff of the trim visit enqueued, if any."""
    data = Visit.query().order(-Visit.timestamp).fetch(limit + 1 + settings.trim_slack)
    visits: list[Visit] = data[:limit]
    if len(data) <= limit + settings.trim_slack:
        return visits, None
    # A trim that one of the TRIM_SLACK + 1 newest enqueued may not have run yet.
    if any(newer.trim_cutoff for newer in data[: settings.trim_slack + 1]):
        return visits, None
    oldest: datetime.datetime = visits[-1].timestamp
    visit.trim_cutoff = oldest  # first, so that concurrent pages see it soon
    visit.put()
    if enqueue_trim(oldest):
        return visits, oldest
    visit.trim_cutoff = None  # refused: no mark, so a later page tries again
    visit.put()
    return visits, None


def enqueue_trim(oldest: datetime.datetime) -> bool:
    """Push a task that trims visits older than oldest; say if it was queued."""
    params = {"oldest": cutoff_text(oldest)}
    body = urllib.parse.urlencode(params).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    task = tasks_v2.AppEngineHttpRequest(
        relative_uri="/trim", headers=headers, body=body
    )
    cutoff = oldest.isoformat()
    try:
        tasks_client().create_task(
            parent=settings.queue_path, task=tasks_v2.Task(app_engine_http_request=task)
        )
    except QUEUE_DOWN as err:
        logging.error(
            "Could not enqueue a trim of visits older than %s: %r",
            cutoff,
            err,
            extra={"json_fields": {"cutoff": cutoff}},
        )
        return False
    logging.info(
        "Enqueued a trim of visits older than %s",
        cutoff,
        extra={"json_fields": {"cutoff": cutoff}},
    )
    return True


def cutoff_text(when: datetime.datetime) -> str:
    """Write a UTC datetime as exact epoch seconds, e.g. '1795738176.161915'."""
    micros = (when - EPOCH) // datetime.timedelta(microseconds=1)
    seconds, fraction = divmod(abs(micros), 10**6)
    return f"{'-' if micros < 0 else ''}{seconds}.{fraction:06d}"


def parse_cutoff(text: object) -> datetime.datetime:
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


def cutoff_from_task() -> datetime.datetime:
    """Return the cutoff that the push task carries; raise ValueError if bad."""
    if request.mimetype != "application/x-www-form-urlencoded":
        raise ValueError(f"unexpected content type {request.mimetype!r}")
    return parse_cutoff(request.form.get("oldest"))


def trim_older_than(oldest: datetime.datetime) -> int:
    """Delete every visit older than oldest, in batches; return how many."""
    query = Visit.query(Visit.timestamp < oldest)
    cutoff = oldest.isoformat()
    deleted, cursor, more = 0, None, True
    while more:
        keys, cursor, more = query.fetch_page(
            BATCH_SIZE, keys_only=True, start_cursor=cursor
        )
        if keys:
            ndb.delete_multi(keys)
            deleted += len(keys)
            ids = [key.id() for key in keys]
            logging.info(
                "Deleted %d visits older than %s",
                len(keys),
                cutoff,
                extra={"json_fields": {"cutoff": cutoff, "ids": ids}},
            )
    return deleted


@app.route("/trim", methods=["POST"])
def trim() -> tuple[str, int]:
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
        logging.info("No visits older than %s to delete", oldest.isoformat())
    return f"Deleted {deleted} visits.\n", 200


@app.route("/")
def root() -> str:
    """Record this visit and show the newest ones."""
    visit = store_visit(request.remote_addr, request.user_agent.string)
    visits, oldest = fetch_visits(SHOWN, visit)
    return render_template("index.html", visits=visits, oldest=oldest)


def datastore_unavailable(err: Exception) -> tuple[str, int, dict[str, str]]:
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
