"""The server-side cache of uploaded, trained and fetched models, by fingerprint (no streamlit).

A reload (F5) starts a new Streamlit session with empty session state; the page's URL still
carries the model's fingerprint (`?fp=…`), and the new session gets the model back from here.
The cache is bounded (entries and bytes of weights), least recently used out first, and lives
in the server's memory: a restart empties it, and the app then says the model is gone.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from sortlist_core import settings
from sortlist_core.checkpoint import LoadedModel

MAX_ENTRIES_ENV = settings.MODEL_CACHE_ENTRIES
DEFAULT_MAX_ENTRIES = 32
DEFAULT_MAX_BYTES = 256 * 1024 * 1024  # weights only; a 2-head sorter is ~0.2 MB

UPLOAD, TRAINED, ORIGINAL = "upload", "trained", "original"


@dataclass(frozen=True)
class CachedModel:
    """A model and how the learner knows it: `label` (shown in the switcher), `kind`."""

    model: LoadedModel
    label: str
    kind: str

    @property
    def fingerprint(self) -> str:
        return self.model.short_id


def weights_bytes(model: LoadedModel) -> int:
    return sum(t.numel() * t.element_size() for t in model.state_dict.values())


class ModelCache:
    """A thread-safe LRU of models keyed by their short fingerprint (`LoadedModel.short_id`)."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("the model cache needs room for at least one model")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, CachedModel] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()

    def put(self, entry: CachedModel) -> None:
        """Add (or refresh) an entry, evicting the least recently used beyond the bounds. A model
        larger than the byte bound on its own is not kept."""
        size = weights_bytes(entry.model)
        key = entry.fingerprint
        with self._lock:
            self._items.pop(key, None)
            self._sizes.pop(key, None)
            if size > self.max_bytes:
                return
            self._items[key] = entry
            self._sizes[key] = size
            while len(self._items) > self.max_entries or sum(self._sizes.values()) > self.max_bytes:
                old, _ = self._items.popitem(last=False)
                self._sizes.pop(old, None)

    def get(self, fingerprint: str) -> CachedModel | None:
        """The entry with this fingerprint (now the most recently used), or None."""
        with self._lock:
            entry = self._items.get(fingerprint)
            if entry is not None:
                self._items.move_to_end(fingerprint)
            return entry

    def __contains__(self, fingerprint: object) -> bool:
        with self._lock:
            return fingerprint in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def max_entries_from_env() -> int:
    """`$SORTLIST_MODEL_CACHE_ENTRIES` (at least 1), else the default."""
    return settings.integer(MAX_ENTRIES_ENV, DEFAULT_MAX_ENTRIES, 1, 10_000)
