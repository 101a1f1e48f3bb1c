"""The server-side cache of uploaded, trained and fetched models, by fingerprint (no streamlit).

Keyed by the full weights sha256: two models whose short fingerprints (8 hex digits, 32 bits)
collide are two entries, and a lookup by a prefix that more than one entry shares finds nothing
rather than the wrong model.

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

MIN_PREFIX_CHARS = 8  # the shortest fingerprint a link ever carried

UPLOAD, TRAINED, ORIGINAL = "upload", "trained", "original"


@dataclass(frozen=True)
class CachedModel:
    """A model and how the learner knows it: `label` (shown in the switcher), `kind`."""

    model: LoadedModel
    label: str
    kind: str

    @property
    def fingerprint(self) -> str:
        """The full weights sha256 (64 hex digits): the cache key."""
        return self.model.weights_sha256


def weights_bytes(model: LoadedModel) -> int:
    return sum(t.numel() * t.element_size() for t in model.state_dict.values())


class ModelCache:
    """A thread-safe LRU of models keyed by their full weights sha256."""

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

    def matching(self, prefix: str) -> list[CachedModel]:
        """Every entry whose sha256 starts with `prefix` (a full sha256 matches itself only)."""
        if len(prefix) < MIN_PREFIX_CHARS:
            return []
        with self._lock:
            return [e for key, e in self._items.items() if key.startswith(prefix)]

    def get(self, fingerprint: str) -> CachedModel | None:
        """The one entry whose sha256 is or starts with `fingerprint` (now the most recently
        used); None when there is none, or more than one (an old 8-digit link can be ambiguous)."""
        with self._lock:
            if len(fingerprint) < MIN_PREFIX_CHARS:
                return None
            keys = [key for key in self._items if key.startswith(fingerprint)]
            if len(keys) != 1:
                return None
            self._items.move_to_end(keys[0])
            return self._items[keys[0]]

    def __contains__(self, fingerprint: object) -> bool:
        return isinstance(fingerprint, str) and len(self.matching(fingerprint)) == 1

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def max_entries_from_env() -> int:
    """`$SORTLIST_MODEL_CACHE_ENTRIES` (at least 1), else the default."""
    return settings.integer(MAX_ENTRIES_ENV, DEFAULT_MAX_ENTRIES, 1, 10_000)
