"""msgpack and JSON bodies, with SIE's msgpack-numpy arrays decoded straight into numpy."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
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
_NO_KIND = (b"", "")


class WireFormatError(ValueError):
    """A response body that does not decode."""


def _array_hook(obj: dict[Any, Any]) -> Any:
    return array_from_map(obj) if b"nd" in obj else obj


def _header(obj: Mapping[Any, Any]) -> tuple[np.dtype[Any], bytes]:
    dtype_name = obj.get(b"type")
    if isinstance(dtype_name, bytes):
        dtype_name = dtype_name.decode("ascii", "replace")
    if dtype_name not in _DTYPES:
        raise WireFormatError(f"array with unsupported dtype {dtype_name!r}")
    if obj.get(b"kind", b"") not in _NO_KIND:
        raise WireFormatError("array with a non-numeric kind")
    data = obj.get(b"data")
    if not isinstance(data, bytes):
        raise WireFormatError("array without a data buffer")
    return np.dtype(dtype_name), data


def array_from_map(obj: Mapping[Any, Any]) -> Any:
    """One msgpack-numpy map (``{nd, type, kind, shape, data}``) as a read-only numpy view, or a scalar."""
    dtype, data = _header(obj)
    if obj.get(b"nd") is False:
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
            f"array of shape {shape} and dtype {dtype} needs {count * dtype.itemsize} bytes, got {len(data)}"
        )
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def stack_vector_maps(maps: Sequence[Any]) -> np.ndarray[Any, Any]:
    """Equal-length 1-D msgpack-numpy maps as one ``(n, dims)`` matrix, built from one buffer.

    The first map is fully checked; every other must match its header and data length.
    """
    if not maps or not isinstance(maps[0], dict):
        raise WireFormatError("a vector is not a msgpack-numpy array")
    head = array_from_map(maps[0])
    if not isinstance(head, np.ndarray) or head.ndim != 1:
        raise WireFormatError("a vector is not one-dimensional")
    dtype_name, dims, size = maps[0][b"type"], head.shape[0], head.nbytes
    try:
        buffers = [
            obj[b"data"]
            for obj in maps
            if obj[b"type"] == dtype_name
            and obj[b"nd"] is True
            and obj.get(b"kind", b"") in _NO_KIND
            and len(shape := obj[b"shape"]) == 1
            and type(shape[0]) is int
            and shape[0] == dims
        ]
    except (KeyError, TypeError) as exc:
        raise WireFormatError("a vector is not a msgpack-numpy array") from exc
    if len(buffers) != len(maps) or not all(type(data) is bytes and len(data) == size for data in buffers):
        raise WireFormatError(f"vectors differ from the first one ({head.dtype}, shape {list(head.shape)})")
    return np.frombuffer(b"".join(buffers), dtype=head.dtype).reshape(len(maps), head.shape[0])


def unpack_msgpack(content: bytes, *, arrays: bool = True) -> Any:
    """Decode a msgpack body; numpy-map arrays become read-only numpy arrays (views, no copy).

    With ``arrays=False`` they stay maps (see ``array_from_map`` / ``stack_vector_maps``).
    """
    try:
        return msgpack.unpackb(content, raw=False, object_hook=_array_hook if arrays else None)
    except WireFormatError:
        raise
    except msgpack.StackError as exc:  # more than 1024 nested arrays or maps
        raise WireFormatError("malformed msgpack body: nested too deeply") from exc
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
    except RecursionError as exc:  # json's C decoder recurses once per nested array or object
        raise WireFormatError("malformed JSON body: nested too deeply") from exc


def dumps_json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def decode_body(content: bytes, content_type: str | None, *, arrays: bool = True) -> Any:
    """Decode by the response's content type: msgpack when it says so, JSON otherwise."""
    if content_type and ("msgpack" in content_type):
        return unpack_msgpack(content, arrays=arrays)
    return loads_json(content)
