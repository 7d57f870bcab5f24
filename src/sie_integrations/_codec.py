"""msgpack and JSON bodies, with SIE's msgpack-numpy arrays decoded straight into numpy."""

from __future__ import annotations

import json
from typing import Any

import msgpack
import numpy as np

MSGPACK = "application/msgpack"
JSON = "application/json"

_DTYPES = frozenset(
    {order + code for order in "<>" for code in ("f2", "f4", "f8", "i2", "i4", "i8", "u2", "u4", "u8")}
    | {"|b1", "|i1", "|u1"}
)
_MAX_DIMS = 8


class WireFormatError(ValueError):
    """A response body that does not decode."""


def _array_hook(obj: dict[Any, Any]) -> Any:
    if b"nd" not in obj:
        return obj
    dtype_name = obj.get(b"type")
    if isinstance(dtype_name, bytes):
        dtype_name = dtype_name.decode("ascii", "replace")
    if dtype_name not in _DTYPES:
        raise WireFormatError(f"array with unsupported dtype {dtype_name!r}")
    if obj.get(b"kind", b"") not in (b"", ""):
        raise WireFormatError("array with a non-numeric kind")
    data = obj.get(b"data")
    if not isinstance(data, bytes):
        raise WireFormatError("array without a data buffer")
    dtype = np.dtype(dtype_name)
    if obj[b"nd"] is False:
        if len(data) != dtype.itemsize:
            raise WireFormatError("scalar with a wrong data length")
        return np.frombuffer(data, dtype=dtype, count=1)[0]
    shape = obj.get(b"shape")
    if (
        not isinstance(shape, list)
        or len(shape) > _MAX_DIMS
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise WireFormatError(f"array with an invalid shape {shape!r}")
    count = 1
    for n in shape:
        count *= n
    if count * dtype.itemsize != len(data):
        raise WireFormatError(
            f"array of shape {shape} and dtype {dtype_name} needs {count * dtype.itemsize} bytes, got {len(data)}"
        )
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def unpack_msgpack(content: bytes) -> Any:
    """Decode a msgpack body; numpy-map arrays become read-only numpy arrays (views, no copy)."""
    try:
        return msgpack.unpackb(content, raw=False, object_hook=_array_hook)
    except WireFormatError:
        raise
    except Exception as exc:  # msgpack raises several unrelated types
        raise WireFormatError(f"malformed msgpack body: {exc}") from exc


def pack_msgpack(obj: Any) -> bytes:
    result: bytes = msgpack.packb(obj, use_bin_type=True)
    return result


def loads_json(content: bytes | str) -> Any:
    try:
        return json.loads(content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WireFormatError(f"malformed JSON body: {exc}") from exc


def dumps_json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def decode_body(content: bytes, content_type: str | None) -> Any:
    """Decode by the response's content type: msgpack when it says so, JSON otherwise."""
    if content_type and ("msgpack" in content_type):
        return unpack_msgpack(content)
    return loads_json(content)
