"""One shared instance per process, made on first use: the code runner, the training-job
manager. Thread-safe (sessions run in threads); `replace` swaps it, for tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ProcessWide(Generic[T]):
    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self.instance: T | None = None  # None until first use

    def get(self) -> T:
        """The instance, made now if this is the first use."""
        with self._lock:
            if self.instance is None:
                self.instance = self._make()
            return self.instance

    def replace(self, instance: T | None) -> T | None:
        """Put `instance` in place (None: make a fresh one on next use); returns the previous one."""
        with self._lock:
            previous, self.instance = self.instance, instance
            return previous
