"""The server reads the worker's answers in large chunks: a multi-megabyte answer (an Explain-it
hypothesis's arrays) arrives whole and quickly, lines split across chunks come back intact, and
every chunk counts as hearing from the worker (the silence watchdog must not replace a worker
that is busy sending one long line)."""

from __future__ import annotations

import os
import threading
from types import SimpleNamespace

from sortlist_core.runner.worker_link import WorkerLink


def _read_all(payload: bytes) -> tuple[list[bytes], list[float]]:
    r, w = os.pipe()
    link = SimpleNamespace(last_heard=0.0)
    heard: list[float] = []

    def write() -> None:
        view = memoryview(payload)
        while view:
            view = view[os.write(w, view[:100_003]) :]  # odd sizes: lines straddle writes
        os.close(w)

    writer = threading.Thread(target=write)
    writer.start()
    lines = []
    for line in WorkerLink._lines(link, r):  # type: ignore[arg-type]
        lines.append(line)
        heard.append(link.last_heard)
    writer.join()
    os.close(r)
    return lines, heard


def test_long_and_short_lines_come_back_intact():
    long_line = b"x" * 5_000_000
    lines, heard = _read_all(b'{"op": "alive"}\n' + long_line + b"\n\n" + b'{"op": "done"}\n' + b"tail")
    assert lines == [b'{"op": "alive"}', long_line, b"", b'{"op": "done"}', b"tail"]
    assert all(t > 0 for t in heard)


def test_a_long_line_is_not_read_a_byte_at_a_time(monkeypatch):
    # Iterating the unbuffered pipe made one read per byte (5 million for this line); in chunks
    # it is a few per 64 kB the pipe holds.
    from sortlist_core.runner import worker_link

    reads = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        reads.append(n)
        return real_read(fd, n)

    monkeypatch.setattr(worker_link.os, "read", counting_read)
    lines, _ = _read_all(b"y" * 5_000_000 + b"\n")
    assert lines == [b"y" * 5_000_000]
    assert len(reads) < 5_000_000 // 4096, len(reads)
