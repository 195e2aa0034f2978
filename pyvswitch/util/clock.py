"""Injectable clocks.

Everything in pyvswitch that ages or expires state (flow timeouts, MAC learning, megaflow idle times, retries)
takes a ``Clock`` instead of calling ``time`` itself, so that tests can move time forward explicitly instead of
sleeping, as Faucet passes ``now`` around and Open vSwitch has ``ovs-appctl time/warp``.

``Clock.now()`` returns seconds as a float on a monotonic scale: it never goes backwards and has no relation to the
calendar.  Protocol fields that need wall-clock time must ask for it separately.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """A source of monotonic time."""

    def now(self) -> float:
        """Seconds on a monotonic scale.  Successive calls never return a smaller value."""
        ...


class MonotonicClock:
    """The real clock: ``time.monotonic()``."""

    __slots__ = ()

    def now(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that only moves when told to, for tests.

    It starts at ``start`` (default 0.0) and moves with ``advance(seconds)`` or ``set(t)``; neither may move it
    backwards, so code under test may rely on the monotonic contract."""

    __slots__ = ("_now",)

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (not negative) and return the new time."""
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go backwards")
        self._now += seconds
        return self._now

    def set(self, t: float) -> None:
        """Jump to time ``t``, which must not be earlier than the current time."""
        if t < self._now:
            raise ValueError("a monotonic clock cannot go backwards")
        self._now = float(t)

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"


SYSTEM_CLOCK = MonotonicClock()
