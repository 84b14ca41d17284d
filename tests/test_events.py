"""Events: each outcome is logged at its level, handed to on_event and counted in OpenTelemetry."""

from __future__ import annotations

import gc
import logging
import os
import re
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator

import pytest
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from prometheus_client import CollectorRegistry, generate_latest

import fastapi_password_reset
from fastapi_password_reset._events import Event, EventRecorder, ResetEvent
from fastapi_password_reset.exceptions import TokenRefusal
from tests.conftest import SECRET
from tests.doc_programs import ROOT, python_blocks

USER_ID = uuid.UUID("6f1c1f0e-2b1c-4c8e-9a55-3d1c7a1e0b42")

Points = dict[tuple[tuple[str, str], ...], float]


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def provider(reader: InMemoryMetricReader) -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    yield provider
    provider.shutdown()


def points(reader: InMemoryMetricReader, name: str) -> Points:
    """The metric's current values, keyed by their sorted attributes."""
    data = reader.get_metrics_data()
    found: Points = {}
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name != name:
                    continue
                for point in metric.data.data_points:
                    assert isinstance(point, NumberDataPoint)
                    attributes = point.attributes or {}
                    found[tuple(sorted((k, str(v)) for k, v in attributes.items()))] = point.value
    return found


def test_counts_add_up_per_event_and_reason(
    provider: MeterProvider, reader: InMemoryMetricReader
) -> None:
    """Each event and reason is its own series, and counts add up within it."""
    recorder = EventRecorder(meter_provider=provider)
    recorder.emit(Event.TOKEN_ISSUED, user_id=USER_ID)
    recorder.emit(Event.TOKEN_ISSUED, user_id=uuid.uuid4())
    recorder.emit(Event.TOKEN_REFUSED, reason=TokenRefusal.ALREADY_USED)
    recorder.emit(Event.TOKEN_REFUSED, reason="already_used")
    recorder.emit(Event.TOKEN_REFUSED, reason=TokenRefusal.INVALID)
    recorder.emit(Event.TOKENS_REVOKED, user_id=USER_ID, count=3)
    recorder.emit(Event.TOKENS_REVOKED, user_id=USER_ID, count=2)

    assert points(reader, "fastapi_password_reset.events") == {
        (("event", "token_issued"),): 2,
        (("event", "token_refused"), ("reason", "already_used")): 2,
        (("event", "token_refused"), ("reason", "invalid")): 1,
        (("event", "tokens_revoked"),): 5,
    }


def test_the_meter_is_named_and_versioned(
    provider: MeterProvider, reader: InMemoryMetricReader
) -> None:
    """The meter is the package's, with its version, and the counter has its unit."""
    EventRecorder(meter_provider=provider).emit(Event.RESET_ASKED)
    data = reader.get_metrics_data()
    assert data is not None
    [scope] = data.resource_metrics[0].scope_metrics
    assert scope.scope.name == "fastapi_password_reset"
    assert scope.scope.version == fastapi_password_reset.__version__
    [metric] = scope.metrics
    assert (metric.name, metric.unit) == ("fastapi_password_reset.events", "{event}")


def test_pending_gauge_reads_the_callbacks_current_value(
    provider: MeterProvider, reader: InMemoryMetricReader
) -> None:
    """The pending gauge reports what the callback answers at each collection."""
    recorder = EventRecorder(meter_provider=provider)
    queue = [1, 2, 3]
    recorder.observe_pending(lambda: len(queue))
    assert points(reader, "fastapi_password_reset.background.pending") == {(): 3}
    queue.clear()
    assert points(reader, "fastapi_password_reset.background.pending") == {(): 0}


def test_pending_gauge_sums_the_live_recorders_of_a_provider(
    provider: MeterProvider, reader: InMemoryMetricReader
) -> None:
    """Two recorders on one provider add their queues; a collected recorder drops out."""
    first = EventRecorder(meter_provider=provider)
    first.observe_pending(lambda: 2)
    second = EventRecorder(meter_provider=provider)
    second.observe_pending(lambda: 5)
    assert points(reader, "fastapi_password_reset.background.pending") == {(): 7}
    del second
    gc.collect()
    assert points(reader, "fastapi_password_reset.background.pending") == {(): 2}


def test_a_failing_pending_callback_is_logged_and_reads_zero(
    provider: MeterProvider, reader: InMemoryMetricReader, caplog: pytest.LogCaptureFixture
) -> None:
    """A pending callback that raises is logged at ERROR, and the gauge still answers."""

    def broken() -> int:
        raise RuntimeError("queue gone")

    recorder = EventRecorder(meter_provider=provider)
    recorder.observe_pending(broken)
    assert points(reader, "fastapi_password_reset.background.pending") == {(): 0}
    assert [r.levelno for r in caplog.records] == [logging.ERROR]
    assert "queue gone" in caplog.text


def test_on_event_receives_the_event(provider: MeterProvider) -> None:
    """on_event gets a ResetEvent with the event, user id, plain reason and count."""
    received: list[ResetEvent] = []
    recorder = EventRecorder(received.append, meter_provider=provider)
    recorder.emit(Event.TOKEN_REFUSED, user_id=USER_ID, reason=TokenRefusal.ACCOUNT_CHANGED)
    recorder.emit(Event.JOB_SHED, count=4)
    assert received == [
        ResetEvent(Event.TOKEN_REFUSED, user_id=USER_ID, reason="account_changed"),
        ResetEvent(Event.JOB_SHED, count=4),
    ]
    assert type(received[0].reason) is str


def test_a_raising_on_event_is_logged_and_the_event_still_counted(
    provider: MeterProvider, reader: InMemoryMetricReader, caplog: pytest.LogCaptureFixture
) -> None:
    """An on_event that raises is logged with its traceback; emit neither raises nor skips."""

    def on_event(event: ResetEvent) -> None:
        raise ValueError("the callback broke")

    recorder = EventRecorder(on_event, meter_provider=provider)
    recorder.emit(Event.PASSWORD_RESET, user_id=USER_ID)
    recorder.emit(Event.PASSWORD_RESET, user_id=USER_ID)

    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert "on_event failed for password_reset" in errors[0].getMessage()
    assert "ValueError: the callback broke" in errors[0].getMessage()
    assert points(reader, "fastapi_password_reset.events") == {(("event", "password_reset"),): 2}


def test_an_async_on_event_is_refused_once_and_never_left_unawaited(
    provider: MeterProvider, reader: InMemoryMetricReader, caplog: pytest.LogCaptureFixture
) -> None:
    """A coroutine function as on_event is logged once, its coroutines closed, events counted."""
    started: list[ResetEvent] = []

    async def on_event(event: ResetEvent) -> None:
        started.append(event)  # never runs: the coroutine is closed unstarted

    recorder = EventRecorder(on_event, meter_provider=provider)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        recorder.emit(Event.RESET_ASKED)
        recorder.emit(Event.RESET_ASKED)
        gc.collect()

    assert [str(w.message) for w in caught] == []
    assert started == []
    refusals = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(refusals) == 1
    assert "on_event must be a plain (synchronous) function" in refusals[0].getMessage()
    assert points(reader, "fastapi_password_reset.events") == {(("event", "reset_asked"),): 2}


LEVELS = {
    Event.RESET_ASKED: logging.DEBUG,
    Event.TOKEN_ISSUED: logging.DEBUG,
    Event.THROTTLED: logging.DEBUG,
    Event.NO_ACCOUNT: logging.DEBUG,
    Event.PASSWORD_RESET: logging.DEBUG,
    Event.TOKEN_REFUSED: logging.INFO,
    Event.TOKENS_REVOKED: logging.INFO,
    Event.WRONG_CODE: logging.DEBUG,
    Event.JOB_SHED: logging.WARNING,
    Event.HOOK_FAILED: logging.WARNING,
    Event.STORE_UNAVAILABLE: logging.WARNING,
}


def test_every_event_has_a_level_here() -> None:
    """The table of levels below covers every event."""
    assert set(LEVELS) == set(Event)


@pytest.mark.parametrize("event", list(Event), ids=lambda e: e.value)
def test_each_event_is_logged_at_its_level(
    event: Event, provider: MeterProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """Routine outcomes log at DEBUG, refusals and revocations at INFO, trouble at WARNING."""
    caplog.set_level(logging.DEBUG, logger="fastapi_password_reset")
    EventRecorder(meter_provider=provider).emit(event, user_id=USER_ID, reason="why", count=2)
    [record] = caplog.records
    assert record.name == "fastapi_password_reset"
    assert record.levelno == LEVELS[event]
    assert record.getMessage() == f"{event.value}: user_id={USER_ID} reason=why count=2"


def test_the_log_line_without_user_or_reason(
    provider: MeterProvider, caplog: pytest.LogCaptureFixture
) -> None:
    """An event with no user and no reason says so rather than leaving gaps."""
    caplog.set_level(logging.DEBUG, logger="fastapi_password_reset")
    EventRecorder(meter_provider=provider).emit(Event.NO_ACCOUNT)
    assert caplog.records[0].getMessage() == "no_account: user_id=None reason=None count=1"


def run_python(code: str, *args: str) -> str:
    """Run ``code`` in a fresh interpreter, whose global meter provider is still unset."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONWARNINGS"] = "error"
    env["SECRET"] = SECRET  # as the docs' samples get it
    result = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_without_an_sdk_emit_records_nothing_and_works() -> None:
    """With no provider given and no SDK configured, the API is a no-op and emit still works."""
    out = run_python(
        "from opentelemetry import metrics\n"
        "from fastapi_password_reset._events import Event, EventRecorder\n"
        "recorder = EventRecorder(print)\n"
        "recorder.observe_pending(lambda: 1)\n"
        "recorder.emit(Event.TOKEN_ISSUED, count=2)\n"
        "print(type(metrics.get_meter_provider()).__name__)\n"
    )
    event = "ResetEvent(event=<Event.TOKEN_ISSUED: 'token_issued'>, user_id=None, reason=None"
    assert out.splitlines() == [f"{event}, count=2)", "_ProxyMeterProvider"]


def test_a_global_provider_set_later_receives_earlier_recorders_metrics() -> None:
    """Recorders built before and after set_meter_provider all report to it, gauge included."""
    out = run_python(
        "from opentelemetry import metrics\n"
        "from opentelemetry.sdk.metrics import MeterProvider\n"
        "from opentelemetry.sdk.metrics.export import InMemoryMetricReader\n"
        "from fastapi_password_reset._events import Event, EventRecorder\n"
        "early = EventRecorder()\n"
        "early.observe_pending(lambda: 2)\n"
        "early.emit(Event.TOKEN_ISSUED)  # before any SDK: not counted\n"
        "reader = InMemoryMetricReader()\n"
        "metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))\n"
        "early.emit(Event.TOKEN_ISSUED)\n"
        "late = EventRecorder()\n"
        "late.observe_pending(lambda: 5)\n"
        "late.emit(Event.TOKEN_ISSUED)\n"
        "[scope] = reader.get_metrics_data().resource_metrics[0].scope_metrics\n"
        "for metric in scope.metrics:\n"
        "    for point in metric.data.data_points:\n"
        "        print(metric.name, dict(point.attributes), point.value)\n"
    )
    assert sorted(out.splitlines()) == [
        "fastapi_password_reset.background.pending {} 7",
        "fastapi_password_reset.events {'event': 'token_issued'} 2",
    ]


def quoted_exposition() -> list[str]:
    """The Prometheus series quoted in docs/observability.md."""
    page = (ROOT / "docs" / "observability.md").read_text()
    blocks: list[str] = re.findall(r"```text\n(# HELP fastapi_password_reset.*?)```", page, re.S)
    [block] = blocks
    return block.splitlines()


def test_the_prometheus_series_are_those_the_docs_quote() -> None:
    """Through PrometheusMetricReader, the scrape shows exactly the lines the docs quote."""
    registry = CollectorRegistry()
    provider = MeterProvider(
        metric_readers=[PrometheusMetricReader(registry=registry)], shutdown_on_exit=False
    )
    try:
        recorder = EventRecorder(meter_provider=provider)
        recorder.observe_pending(lambda: 3)
        recorder.emit(Event.TOKEN_ISSUED, user_id=USER_ID)
        recorder.emit(Event.TOKEN_ISSUED, user_id=uuid.uuid4())
        recorder.emit(Event.TOKEN_REFUSED, reason=TokenRefusal.ALREADY_USED)
        scraped = generate_latest(registry).decode().splitlines()
    finally:
        provider.shutdown()
    quoted = quoted_exposition()
    assert quoted
    start = scraped.index(quoted[0])
    assert scraped[start : start + len(quoted)] == quoted


# The page's Prometheus block (argv[1]), run in a fresh process (it sets the global meter
# provider, which can be set once per process), on an application with one recorder, then
# scraped over ASGI.
SCRAPE_THE_DOCS_SETUP = """
import asyncio, sys, uuid

import httpx
from fastapi import APIRouter

from fastapi_password_reset._events import Event, EventRecorder
from fastapi_password_reset.exceptions import TokenRefusal

class Users:  # stands for the page's FastAPIUsers: only its router is used here
    def get_reset_password_router(self, secret: str, lifetime: int) -> APIRouter:
        return APIRouter()

page = {"os": __import__("os"), "fastapi_users": Users()}
exec(sys.argv[1], page)

recorder = EventRecorder()
recorder.observe_pending(lambda: 3)
recorder.emit(Event.TOKEN_ISSUED, user_id=uuid.uuid4())
recorder.emit(Event.TOKEN_ISSUED, user_id=uuid.uuid4())
recorder.emit(Event.TOKEN_REFUSED, reason=TokenRefusal.ALREADY_USED)

async def scrape() -> None:
    transport = httpx.ASGITransport(app=page["app"])
    async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
        answer = await client.get("/metrics", follow_redirects=True)
        assert answer.status_code == 200, answer
        print(answer.text)

asyncio.run(scrape())
"""


def test_the_docs_prometheus_setup_serves_the_quoted_series() -> None:
    """The page's MeterProvider and /metrics mount, scraped, serve the lines the page quotes."""
    blocks = python_blocks(ROOT / "docs" / "observability.md")
    [setup] = [block for block in blocks if "PrometheusMetricReader" in block]
    scraped = run_python(SCRAPE_THE_DOCS_SETUP, setup)
    lines = scraped.splitlines()
    quoted = quoted_exposition()
    start = lines.index(quoted[0])
    assert lines[start : start + len(quoted)] == quoted
