"""A signal: a call whose listeners are connected after the caller is built.

Ingest wakes the delivery workers when it queues rows, and the workers hand dead letters back to
ingest; a signal lets each be built without the other existing yet.
"""

from __future__ import annotations

from collections.abc import Callable


class Signal:
    """Calling it calls every listener, in the order they were connected."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def connect(self, listener: Callable[[], None]) -> None:
        """Call `listener` on every future call of the signal."""
        self._listeners.append(listener)

    def __call__(self) -> None:
        for listener in self._listeners:
            listener()
