"""Events: every outcome of the reset flow, logged, handed to a callback and counted.

An application needs to see what the flow does (how many mails went out, how many links were
refused and why, whether hooks fail or jobs are shed) without reading request logs. Each
outcome is reported once, through `EventRecorder.emit`, three ways: a log line on the
``fastapi_password_reset`` logger, an optional ``on_event`` callback, and an OpenTelemetry
counter.

Safe by design: an event carries a kind, a user id, a short reason from a fixed set and a count,
never an e-mail address, a token, a password or a password hash, so none of the three can
leak one. Metric attributes are the event and its reason, both from small fixed sets; the user
id, unbounded, goes to the log and the callback only, never into a metric label.

Metrics go through ``opentelemetry-api`` alone, which records nothing until the application
configures an SDK: the library costs nothing to those who do not want metrics.
"""

from __future__ import annotations

import inspect
import logging
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from importlib.metadata import PackageNotFoundError, version
from uuid import UUID

from opentelemetry import metrics

from fastapi_password_reset._redaction import redacted_traceback

logger = logging.getLogger("fastapi_password_reset")

METER_NAME = "fastapi_password_reset"
EVENTS_COUNTER = "fastapi_password_reset.events"
PENDING_GAUGE = "fastapi_password_reset.background.pending"

try:
    _VERSION: str | None = version("fastapi-password-reset")
except PackageNotFoundError:  # a source tree on sys.path, not installed
    _VERSION = None


class Event(str, Enum):  # noqa: UP042 - str mixin, like ErrorCode
    """What happened: the kind of a `ResetEvent`, and the ``event`` attribute of the metric."""

    RESET_ASKED = "reset_asked"
    """A well-formed forgot-password request was accepted (202), whatever the address."""
    TOKEN_ISSUED = "token_issued"
    """A reset token was made for an active user and handed to the mail hook."""
    THROTTLED = "throttled"
    """No token was issued: the user was sent one less than ``min_interval_seconds`` ago."""
    NO_ACCOUNT = "no_account"
    """A forgot-password request named an address with no active account."""
    HOOK_FAILED = "hook_failed"
    """An application hook raised; ``reason`` is the hook's name (the traceback is logged)."""
    JOB_SHED = "job_shed"
    """Work after a response was dropped because too many jobs were waiting; ``count`` jobs."""
    PASSWORD_RESET = "password_reset"
    """A password was changed with a reset token."""
    TOKEN_REFUSED = "token_refused"
    """A reset token was refused; ``reason`` is the `TokenRefusal` value (``already_used``…)."""
    STORE_UNAVAILABLE = "store_unavailable"
    """The token store or user database failed; ``reason`` is the route or step affected."""
    TOKENS_REVOKED = "tokens_revoked"
    """A user's outstanding reset tokens were revoked; ``count`` says how many."""
    WRONG_CODE = "wrong_code"
    """A reset code was checked and was not the live code of the address given (or the
    address has none). Summed over every process, its rate is the deployment's guessing rate:
    alert on it."""


# Why each level:
# - DEBUG: the flow working as intended. One per request, and on a busy site nobody wants them
#   by default; the counters give the rates.
# - INFO for tokens_revoked: rare, and a deliberate change of an account's state worth finding
#   in the log later.
# - INFO for token_refused: not a fault of ours. Expired links and double clicks are normal, and
#   any client can send a refused token at will, so WARNING would let anyone fill the warning
#   log and page an operator. A burst of refusals is an attack signal: alert on the metric's
#   rate by reason, not on log lines.
# - DEBUG for wrong_code: one per wrong guess, which anyone can send at will; a campaign shows
#   in the metric's rate summed over every process, which is what to alert on.
# - WARNING for job_shed: the process is over its capacity and work was dropped.
# - WARNING, not ERROR, for hook_failed and store_unavailable: the failing code has already
#   logged the traceback at ERROR; the event line is a summary, not a second error.
_LEVELS: dict[Event, int] = {
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


@dataclass(frozen=True)
class ResetEvent:
    """One outcome of the reset flow, as given to the ``on_event`` callback.

    It never holds an e-mail address, a token, a password or a password hash: only what is
    below, so it can be logged, stored or sent anywhere.

    Attributes:
        event: What happened.
        user_id: The user concerned, when there is one (not for ``no_account`` or shed jobs).
        reason: A short fixed identifier qualifying the event: a token refusal reason
            (``"already_used"``), a hook name (``"after_forgot_password"``), a route
            (``"reset_password"``).
        count: How many: tokens revoked, jobs shed; 1 for everything else.
    """

    event: Event
    user_id: UUID | int | None = None
    reason: str | None = None
    count: int = 1


class _PendingGauge:
    """One ``background.pending`` instrument per meter provider, summing its recorders.

    OpenTelemetry's SDK keeps the first instrument registered under a name and silently drops
    the callbacks of any later one; an application with two `FastAPIUsers` (or a test suite
    with hundreds) on one provider would report the first one's queue forever. So the
    instrument is made once per provider, and its callback sums the queues of the recorders
    still alive (queue lengths add up across instances, hence an up-down counter).
    """

    def __init__(self, meter: metrics.Meter) -> None:
        self._lock = threading.Lock()
        self._recorders: weakref.WeakSet[EventRecorder] = weakref.WeakSet()
        meter.create_observable_up_down_counter(
            PENDING_GAUGE,
            callbacks=[self._observe],
            unit="{job}",
            description="Jobs waiting to run after their response (mail hooks and the like).",
        )

    def add(self, recorder: EventRecorder) -> None:
        with self._lock:
            self._recorders.add(recorder)

    def _observe(self, _options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
        with self._lock:
            recorders = list(self._recorders)
        total = 0
        for recorder in recorders:
            total += recorder._read_pending()
        yield metrics.Observation(total)


# Recorders on OpenTelemetry's global provider share one gauge, whether they were built before
# the application set its SDK provider (they hold the API's proxy) or after (the SDK's own):
# both end on the same SDK meter. Recorders given a provider share that provider's gauge.
_global_gauge: _PendingGauge | None = None
_gauges: weakref.WeakKeyDictionary[metrics.MeterProvider, _PendingGauge] = (
    weakref.WeakKeyDictionary()
)
_gauges_lock = threading.Lock()


def _pending_gauge(provider: metrics.MeterProvider | None, meter: metrics.Meter) -> _PendingGauge:
    """The gauge for ``provider`` (``None``: the global one), made on ``meter`` the first time."""
    global _global_gauge  # one per process, like the global provider itself
    with _gauges_lock:
        if provider is None:
            if _global_gauge is None:
                _global_gauge = _PendingGauge(meter)
            return _global_gauge
        gauge = _gauges.get(provider)
        if gauge is None:
            gauge = _gauges[provider] = _PendingGauge(meter)
        return gauge


class EventRecorder:
    """Reports each outcome of the reset flow: a log line, the ``on_event`` callback, a count.

    ``emit`` is called on request paths, so it is synchronous and cheap, and it never raises:
    a failing callback is logged and the request goes on.

    ``on_event`` is a plain function taking a `ResetEvent`. It runs inline, on the request's
    thread or event loop, so it should be quick (append to a queue, bump a counter); a
    coroutine function is refused (logged once, its coroutine closed), since nothing would
    await it.

    Metrics go to ``meter_provider`` or, without one, to OpenTelemetry's global provider. The
    meter is looked up when the recorder is built; the global provider is a proxy that
    forwards to the SDK provider an application sets with
    ``opentelemetry.metrics.set_meter_provider``, before or after the recorder is built
    (events emitted before that are not counted). Without any SDK, the API records nothing.
    """

    def __init__(
        self,
        on_event: Callable[[ResetEvent], object] | None = None,
        *,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self._on_event = on_event
        self._warned_async = False
        self._pending: Callable[[], int] | None = None
        global_provider = metrics.get_meter_provider()
        on_global = meter_provider is None or meter_provider is global_provider
        self._own_provider = None if on_global else meter_provider  # see _pending_gauge
        provider = global_provider if meter_provider is None else meter_provider
        self._meter = provider.get_meter(METER_NAME, _VERSION)
        self._counter = self._meter.create_counter(
            EVENTS_COUNTER,
            unit="{event}",
            description="Outcomes of the password-reset flow, by event and reason.",
        )

    def emit(
        self,
        event: Event,
        *,
        user_id: UUID | int | None = None,
        reason: str | None = None,
        count: int = 1,
    ) -> None:
        """Log the event, hand it to ``on_event``, count it. Never raises.

        ``reason`` must be one of a small fixed set of identifiers (a `TokenRefusal`, a hook
        or route name): it becomes a metric attribute. Never pass an address or a secret.
        """
        if isinstance(reason, Enum):  # a TokenRefusal: its value, not "TokenRefusal.INVALID"
            reason = str(reason.value)
        logger.log(
            _LEVELS[event],
            "%s: user_id=%s reason=%s count=%d",
            event.value,
            user_id,
            reason,
            count,
        )
        if self._on_event is not None:
            self._call_on_event(self._on_event, ResetEvent(event, user_id, reason, count))
        attributes = {"event": event.value}
        if reason is not None:
            attributes["reason"] = reason
        self._counter.add(count, attributes)

    def observe_pending(self, pending: Callable[[], int]) -> None:
        """Report ``pending()``, the jobs waiting to run, as ``background.pending``.

        ``pending`` runs on the exporter's thread at each collection: it must be quick and
        thread-safe (the length of a queue). Called again, the new function replaces the old.
        With several recorders on one meter provider, the metric is the sum of their queues;
        a recorder counts as long as something (its `FastAPIUsers`) keeps it alive.
        """
        self._pending = pending
        _pending_gauge(self._own_provider, self._meter).add(self)

    def _read_pending(self) -> int:
        if self._pending is None:
            return 0
        try:
            return self._pending()
        except Exception as exc:
            logger.error("reading the pending jobs failed:\n%s", redacted_traceback(exc))
            return 0

    def _call_on_event(
        self, on_event: Callable[[ResetEvent], object], reset_event: ResetEvent
    ) -> None:
        try:
            result = on_event(reset_event)
        except Exception as exc:
            logger.error(
                "on_event failed for %s:\n%s", reset_event.event.value, redacted_traceback(exc)
            )
            return
        if inspect.isawaitable(result):
            if not self._warned_async:
                self._warned_async = True
                logger.warning(
                    "on_event returned an awaitable, which is never awaited: on_event must be "
                    "a plain (synchronous) function"
                )
            close = getattr(result, "close", None)  # a coroutine: no "never awaited" warning
            if callable(close):
                close()
