"""A checkpoint file as bytes, read without paying for a bomb: a size cap on the file, the zip
directory read by hand before anything parses it (stored entries only, bounded count and total
size), and `torch.load(weights_only=True)`, so a pickle that would run code is rejected before
anything in it executes. What the bytes hold is checked in `checkpoint`."""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

import torch

MAX_CHECKPOINT_BYTES = 24 * 1024 * 1024  # far above any sane sorting model; guards memory
# What the zip may unpack to: torch writes entries stored (uncompressed), so a legitimate file
# unpacks to about its own size; a deflated entry could inflate a 5 MB upload to gigabytes.
MAX_UNCOMPRESSED_BYTES = MAX_CHECKPOINT_BYTES
MAX_ZIP_ENTRIES = 256  # a state dict has ~20 tensors; torch adds ~6 bookkeeping entries


class CheckpointError(ValueError):
    """A file that is not a usable sorting-model checkpoint; the message names the first problem."""


def read_source(source: str | os.PathLike | bytes) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        path = Path(source)
        try:
            size = path.stat().st_size
            if size > MAX_CHECKPOINT_BYTES:
                raise CheckpointError(
                    f"{path.name} is {_mb(size)}, over the {_mb(MAX_CHECKPOINT_BYTES)} limit"
                )
            data = path.read_bytes()
        except CheckpointError:
            raise
        except FileNotFoundError:
            raise CheckpointError(f"no such file: {path}") from None
        except OSError as exc:
            raise CheckpointError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"checkpoint is {_mb(len(data))}, over the {_mb(MAX_CHECKPOINT_BYTES)} limit")
    if not data:
        raise CheckpointError("the file is empty")
    return data


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"


def _declared_entry_count(data: bytes) -> int | None:
    """Entries the end-of-central-directory records declare (the zip64 one too, which zip
    readers prefer when present); None if there is no end record. Read by hand so that a
    directory of a million entries is refused before anything parses it."""
    end = data.rfind(_EOCD, max(0, len(data) - 65_557))
    if end < 0 or end + 22 > len(data):
        return None
    count = struct.unpack_from("<H", data, end + 10)[0]
    locator = end - 20
    if locator >= 0 and data[locator : locator + 4] == _EOCD64_LOCATOR:
        start64 = struct.unpack_from("<Q", data, locator + 8)[0]
        if start64 + 56 <= len(data) and data[start64 : start64 + 4] == _EOCD64:
            count = max(count, struct.unpack_from("<Q", data, start64 + 32)[0])
    return count


def check_zip_directory(data: bytes) -> None:
    """Refuse a zip that would cost more to open than its size: compressed entries (torch writes
    every entry stored), more than `MAX_ZIP_ENTRIES` entries, or more than
    `MAX_UNCOMPRESSED_BYTES` in all. Reads only the directory; nothing is decompressed."""
    declared = _declared_entry_count(data)
    if declared is not None and declared > MAX_ZIP_ENTRIES:
        raise CheckpointError(
            f"the archive declares {declared:,} entries, over the limit of {MAX_ZIP_ENTRIES}"
        )
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, struct.error) as exc:
        raise CheckpointError(f"truncated or corrupt checkpoint ({str(exc)[:200]})") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise CheckpointError(
            f"the archive has {len(entries):,} entries, over the limit of {MAX_ZIP_ENTRIES}"
        )
    total = 0
    for entry in entries:
        if entry.compress_type != zipfile.ZIP_STORED:
            raise CheckpointError(
                f"entry {entry.filename[:80]!r} is compressed; torch.save writes entries stored "
                "(uncompressed), and compressed ones are refused so a small file cannot inflate to gigabytes"
            )
        if entry.file_size != entry.compress_size or entry.header_offset + entry.file_size > len(data):
            raise CheckpointError(f"entry {entry.filename[:80]!r} declares a size its bytes do not have")
        total += entry.file_size
        if total > MAX_UNCOMPRESSED_BYTES:
            raise CheckpointError(
                f"the archive unpacks to more than {_mb(MAX_UNCOMPRESSED_BYTES)}, over the limit "
                f"of {_mb(MAX_UNCOMPRESSED_BYTES)}"
            )


def torch_load(data: bytes) -> Any:
    if not zipfile.is_zipfile(io.BytesIO(data)):
        if data[:2] == b"PK":  # a zip archive whose end (central directory) is missing
            raise CheckpointError("truncated or corrupt checkpoint (incomplete zip archive)")
        # A bare pickle (pickle.dump, or torch.save before 1.6) declares its storage sizes in
        # the pickle itself, so its cost cannot be read beforehand: refused outright.
        raise CheckpointError(
            "not a PyTorch checkpoint (expected a torch.save zip archive; bare pickles and the "
            "pre-1.6 torch format are not accepted)"
        )
    check_zip_directory(data)
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if "Weights only load failed" in text or "Unsupported" in text:
            raise CheckpointError(
                "rejected: the file contains Python objects that would run code when loaded "
                "(only plain tensors and containers are accepted; nothing in it was executed)"
            ) from None
        raise CheckpointError(f"corrupt checkpoint: {text.splitlines()[0][:200]}") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, KeyError, OSError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise CheckpointError(f"truncated or corrupt checkpoint ({first})") from None
    except Exception as exc:  # torch.load can raise nearly anything on hostile bytes
        raise CheckpointError(f"unreadable checkpoint ({type(exc).__name__})") from None
