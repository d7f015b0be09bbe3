"""The one wait pattern: an adaptive poll schedule shared by operators, sensors and triggers.

Why: DataWorks bills API calls and its Basic edition allows 100 a day; a two-hour run polled
every 30 s would spend 240 GetInstance calls. So we back off while nothing changes, sleep
through a run whose typical duration we know, and poll closely only near its expected end.

Pure logic, no I/O: ``PollSchedule`` state is JSON-serialisable so a trigger can carry it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable

PollResult = tuple[bool, bool, Any]  # (done, changed, value)

# Sleep until this share of the expected duration, then poll every min_latency.
EXPECTED_END_WINDOW = 0.9
# Seconds after the expected end for the poll aimed at it (clock and rounding slack).
END_MARGIN = 0.5
BACKOFF_FACTOR = 2.0


class PollSchedule:
    """Decide how long to sleep before the next poll.

    Guarantees, for a run that has been going ``elapsed`` seconds:

    * without history, never sleep longer than ``max(min_latency, end_tolerance * elapsed)``
      (capped by ``max_interval``), so the end of a run is noticed within that latency;
    * after a state change, poll again after ``first_interval``;
    * with ``expected_duration``, sleep (in steps of at most ``max_interval``) until
      ``0.9 * expected_duration``, then poll every ``min_latency``; once the expected end has
      passed, fall back to the no-history rule. A run that ends much earlier than expected is
      then noticed within ``max_interval``.
    """

    def __init__(
        self,
        first_interval: float = 60.0,
        *,
        expected_duration: float | None = None,
        max_interval: float = 600.0,
        end_tolerance: float = 0.05,
        min_latency: float = 60.0,
    ) -> None:
        for name, value in (
            ("first_interval", first_interval),
            ("max_interval", max_interval),
            ("min_latency", min_latency),
        ):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"PollSchedule {name}={value!r} must be a number of seconds > 0.")
        if not 0 <= end_tolerance < 1:
            raise ValueError(f"PollSchedule end_tolerance={end_tolerance!r} must be in [0, 1).")
        if expected_duration is not None and expected_duration <= 0:
            expected_duration = None  # no usable history
        self.first_interval = float(first_interval)
        self.expected_duration = None if expected_duration is None else float(expected_duration)
        self.max_interval = float(max_interval)
        self.end_tolerance = float(end_tolerance)
        self.min_latency = float(min_latency)
        self._interval = self.first_interval  # current back-off step
        # An upper bound set by the wait for a while (e.g. a tighter log cadence while a run runs).
        self.cap: float | None = None

    def latency_bound(self, elapsed: float) -> float:
        """The longest sleep that still notices the end within max(min_latency, tolerance*elapsed)."""
        return min(self.max_interval, max(self.min_latency, self.end_tolerance * max(elapsed, 0.0)))

    def next_interval(self, elapsed: float, changed: bool) -> float:
        """Seconds to sleep before the next poll; ``elapsed`` = seconds since the remote run started."""
        interval = self._next_interval(max(float(elapsed), 0.0), changed)
        return min(interval, self.cap) if self.cap else interval

    def _next_interval(self, elapsed: float, changed: bool) -> float:
        if changed:
            self._interval = self.first_interval
            return min(self.first_interval, self.latency_bound(elapsed))

        expected = self.expected_duration
        if expected is not None and elapsed < expected:
            window_start = EXPECTED_END_WINDOW * expected
            if elapsed < window_start - self.min_latency:
                return min(self.max_interval, window_start - elapsed)
            # Every min_latency, the last step landing just after the expected end, where the run most
            # likely ends (a fixed step would notice it up to min_latency late).
            return min(self.min_latency, self.max_interval, expected - elapsed + END_MARGIN)

        # No history, or the run outlived it: back off, bounded by the end-notice latency.
        self._interval = min(self._interval * BACKOFF_FACTOR, self.max_interval)
        return min(self._interval, self.latency_bound(elapsed))

    def to_dict(self) -> dict:
        return {
            "first_interval": self.first_interval,
            "expected_duration": self.expected_duration,
            "max_interval": self.max_interval,
            "end_tolerance": self.end_tolerance,
            "min_latency": self.min_latency,
            "interval": self._interval,
            "cap": self.cap,
        }

    @classmethod
    def from_dict(cls, d: dict) -> PollSchedule:
        schedule = cls(
            d.get("first_interval", 60.0),
            expected_duration=d.get("expected_duration"),
            max_interval=d.get("max_interval", 600.0),
            end_tolerance=d.get("end_tolerance", 0.05),
            min_latency=d.get("min_latency", 60.0),
        )
        schedule._interval = float(d.get("interval", schedule.first_interval))
        schedule.cap = d.get("cap")
        return schedule

    def __repr__(self) -> str:
        return f"PollSchedule({self.to_dict()!r})"


def end_time_epoch(end_time: Any) -> float | None:
    """An absolute deadline as epoch seconds: given as epoch seconds, an ISO 8601 string or a datetime.

    Triggers carry an absolute ``end_time`` (not a relative timeout) so a triggerer restart does
    not restart the clock. A naive ISO string or datetime is taken as UTC.
    """
    if end_time is None or end_time == "":
        return None
    if isinstance(end_time, (int, float)) and not isinstance(end_time, bool):
        return float(end_time)
    from datetime import datetime, timezone

    if isinstance(end_time, str):
        try:
            return float(end_time)
        except ValueError:
            end_time = datetime.fromisoformat(end_time.replace("Z", "+00:00"))
    if isinstance(end_time, datetime):
        if end_time.tzinfo is None:
            end_time = end_time.replace(tzinfo=timezone.utc)
        return end_time.timestamp()
    raise ValueError(f"Invalid end_time={end_time!r}: expected epoch seconds, an ISO 8601 string or a datetime.")


def deadline(timeout: float | None, now: float | None = None) -> float | None:
    """The absolute ``end_time`` (epoch seconds) of a wait of ``timeout`` seconds starting now."""
    if timeout is None:
        return None
    return (time.time() if now is None else now) + float(timeout)


def time_left(end_time: float | None, now: float | None = None) -> float | None:
    """Seconds until ``end_time`` (epoch), never negative; None without a deadline."""
    if end_time is None:
        return None
    return max(end_time - (time.time() if now is None else now), 0.0)


class PollTimeout(TimeoutError):
    """The wait ran out of time; carries the last polled value so callers can say where it stood."""

    def __init__(self, waited: float, last_value: Any) -> None:
        super().__init__(f"still not done after waiting {waited:.0f} s")
        self.waited = waited
        self.last_value = last_value


def _elapsed(elapsed_fn, value, clock_elapsed: float) -> float:
    if elapsed_fn is not None:
        remote = elapsed_fn(value)
        if remote is not None:
            return remote
    return clock_elapsed


def _next_sleep(schedule, start: float, now: float, timeout: float | None, elapsed_fn, value, changed: bool) -> float:
    """The next sleep of a wait, cut to the deadline; raise PollTimeout once the deadline has passed."""
    interval = schedule.next_interval(_elapsed(elapsed_fn, value, now - start), changed)
    if timeout is None:
        return interval
    remaining = start + timeout - now
    if remaining <= 0:
        raise PollTimeout(now - start, value)
    return min(interval, remaining)


def wait_until(
    poll_fn: Callable[[], PollResult],
    schedule: PollSchedule,
    *,
    timeout: float | None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Any] = time.sleep,
    elapsed_fn: Callable[[Any], float | None] | None = None,
    first_delay: float = 0.0,
) -> Any:
    """Poll until ``poll_fn()`` returns done; return its value. Raise ``PollTimeout`` after ``timeout`` s.

    ``elapsed_fn(value)`` gives the remote run's age (e.g. ``instance_elapsed``); when absent or
    None, the time since this wait began is used. The last poll happens at the deadline.
    ``first_delay`` skips the first poll's worth of time when the caller has just polled (a
    deferral): the quota counts the poll the worker made before handing over.
    """
    start = clock()
    if first_delay > 0:
        sleep(first_delay if timeout is None else min(first_delay, timeout))
    while True:
        done, changed, value = poll_fn()
        if done:
            return value
        sleep(_next_sleep(schedule, start, clock(), timeout, elapsed_fn, value, changed))


async def wait_until_async(
    poll_fn: Callable[[], Awaitable[PollResult]],
    schedule: PollSchedule,
    *,
    timeout: float | None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    elapsed_fn: Callable[[Any], float | None] | None = None,
    first_delay: float = 0.0,
) -> Any:
    """The async twin of ``wait_until`` for triggers: same schedule, same timeout semantics."""
    start = clock()
    if first_delay > 0:
        await sleep(first_delay if timeout is None else min(first_delay, timeout))
    while True:
        done, changed, value = await poll_fn()
        if done:
            return value
        await sleep(_next_sleep(schedule, start, clock(), timeout, elapsed_fn, value, changed))
