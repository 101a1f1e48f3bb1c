"""Return values as plain bytes: `.npy` (never pickled) or JSON, framed with a JSON header.

`encode_value` runs in the child (on the learner's object); `decode_message` runs in the server
and trusts nothing: sizes are capped, `np.load(..., allow_pickle=False)`, dtypes checked.
"""

from __future__ import annotations

import io
import json
import struct
from typing import Any

import numpy as np

MAX_TENSORS = 8
HEADER_BYTES = 64 << 10  # the JSON header (messages, tracebacks, small JSON values)
_REAL_KINDS = "biuf"  # bool, int, uint, float: what a checker can compare
_JSON_SCALARS = (int, float, bool, str, type(None))


class Unsupported(TypeError):
    """The learner's function returned something we do not carry back."""


def _array_bytes(x: Any) -> bytes:
    import torch

    if isinstance(x, torch.Tensor):
        # Unbound methods of the base class: a subclass cannot reroute them through its own
        # overrides of detach/cpu/__array__.
        plain = torch.Tensor.cpu(torch.Tensor.detach(x))
        arr = np.array(torch.Tensor.numpy(torch.Tensor.as_subclass(plain, torch.Tensor)), copy=True)
    else:
        arr = np.array(np.ndarray.view(x, np.ndarray), copy=True)
    if type(arr) is not np.ndarray or arr.dtype.kind not in _REAL_KINDS:
        raise Unsupported(f"an array of dtype {arr.dtype}")
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _is_array(x: Any) -> bool:
    import torch

    return isinstance(x, torch.Tensor | np.ndarray)


def _plain_json(x: Any, depth: int = 0) -> Any:
    """A copy of x made only of JSON types (exact types: a subclass of int may be hostile)."""
    if depth > 32:
        raise Unsupported("a structure nested more than 32 levels deep")
    if type(x) in _JSON_SCALARS:
        return x
    if isinstance(x, np.generic) and np.dtype(type(x)).kind in _REAL_KINDS:
        return x.item()
    if type(x) in (list, tuple):
        return [_plain_json(v, depth + 1) for v in x]
    if type(x) is dict:
        out = {}
        for k, v in x.items():
            if type(k) is not str:
                raise Unsupported(f"a dict with a {type(k).__name__} key")
            out[k] = _plain_json(v, depth + 1)
        return out
    raise Unsupported(f"a {type(x).__name__}")


def encode_value(value: Any) -> tuple[dict[str, Any], list[bytes]]:
    """(header, blobs) for a return value; raises Unsupported for anything else."""
    if _is_array(value):
        return {"kind": "ok", "encoding": "npy"}, [_array_bytes(value)]
    if type(value) in (tuple, list) and 0 < len(value) <= MAX_TENSORS and all(_is_array(v) for v in value):
        return {"kind": "ok", "encoding": "npy_list"}, [_array_bytes(v) for v in value]
    return {"kind": "ok", "encoding": "json", "value": _plain_json(value)}, []


def frame(header: dict[str, Any], blobs: list[bytes] = ()) -> bytes:
    """header length (4 bytes) + JSON header (with blob sizes) + blobs."""
    header = {**header, "sizes": [len(b) for b in blobs]}
    head = json.dumps(header, allow_nan=True).encode()
    return struct.pack("!I", len(head)) + head + b"".join(blobs)


class BadMessage(ValueError):
    """What came back from the child is not a well-formed result."""


def decode_message(data: bytes) -> tuple[dict[str, Any], Any]:
    """(header, value) from the child's bytes. value is None unless header kind is "ok"."""
    if len(data) < 4:
        raise BadMessage("no result")
    (n,) = struct.unpack("!I", data[:4])
    if n > HEADER_BYTES or 4 + n > len(data):
        raise BadMessage("header too large or truncated")
    try:
        header = json.loads(data[4 : 4 + n].decode("utf-8"))
    except RecursionError:  # 64 kB of "[[[[..." nests deeper than the parser's stack
        raise BadMessage("the header is nested too deeply") from None
    if type(header) is not dict or type(header.get("kind")) is not str:
        raise BadMessage("header is not an object with a kind")
    sizes = header.get("sizes", [])
    if type(sizes) is not list or len(sizes) > MAX_TENSORS or any(type(s) is not int or s < 0 for s in sizes):
        raise BadMessage("bad blob sizes")
    if 4 + n + sum(sizes) != len(data):
        raise BadMessage("blob sizes do not match the data")
    if header["kind"] != "ok":
        return header, None
    encoding = header.get("encoding")
    if encoding == "json":
        return header, header.get("value")
    if encoding not in ("npy", "npy_list") or (encoding == "npy" and len(sizes) != 1) or not sizes:
        raise BadMessage("bad encoding")
    arrays, pos = [], 4 + n
    for size in sizes:
        arr = np.load(io.BytesIO(data[pos : pos + size]), allow_pickle=False)
        pos += size
        if type(arr) is not np.ndarray or arr.dtype.kind not in _REAL_KINDS:
            raise BadMessage(f"unsupported array dtype {getattr(arr, 'dtype', '?')}")
        arrays.append(arr)
    return header, arrays[0] if encoding == "npy" else tuple(arrays)


__all__ = ["BadMessage", "Unsupported", "decode_message", "encode_value", "frame"]
