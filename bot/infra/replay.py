"""Requests seen in their validity window, so a captured one cannot be played again: Slack's
signatures, and Bot Framework activity ids (whose bearer tokens sign no body)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

WINDOW_SECONDS = 5 * 60 + 30  # Slack's five minutes, and some clock skew


class ReplayGuard:
    """Remembers each signature until its window closes; a repeat inside it is refused.

    One process remembers what it saw since it started, so a request signed before the
    process started is refused too (`signed_since_start`): a copy captured before a restart
    cannot be played to the new process. With several web processes behind a load balancer,
    a replay that lands on another process is caught there only if it saw the first copy.
    """

    def __init__(
        self,
        window: float = WINDOW_SECONDS,
        size: int = 200_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._window, self._size, self._clock = window, size, clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def signed_since_start(self, timestamp: str, started: float) -> bool:
        """Whether a request was signed after this process started (its memory begins then).

        One second of grace for the signer's clock and a request on its way at start."""
        return timestamp.isdigit() and int(timestamp) >= int(started) - 1

    def first_time(self, signature: str) -> bool:
        """True the first time a signature is offered inside its window, False on a repeat."""
        now = self._clock()
        while self._seen:
            oldest, expires = next(iter(self._seen.items()))
            if expires > now and len(self._seen) < self._size:
                break
            del self._seen[oldest]
        if signature in self._seen:
            return False
        self._seen[signature] = now + self._window
        return True
