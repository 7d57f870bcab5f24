"""The msgpack-numpy decoder (protocol section 3): exact layout, round trips and rejections."""

from __future__ import annotations

import math
from typing import Any

import msgpack
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sie_integrations._core.codec import WireFormatError, decode_body, unpack_msgpack

WHITELIST = [o + c for o in "<>" for c in ("f2", "f4", "f8", "i2", "i4", "i8", "u2", "u4", "u8")] + [
    "|b1",
    "|i1",
    "|u1",
]

# protocol section 3.1, "Annotated bytes of a one-element float32 array [1.0]", verbatim
ANNOTATED_ONE_ELEMENT = bytes.fromhex(
    """
    85
    c4 02 6e 64             c3
    c4 04 74 79 70 65       a3 3c 66 34
    c4 04 6b 69 6e 64       c4 00
    c4 05 73 68 61 70 65    91 01
    c4 04 64 61 74 61       c4 04 00 00 80 3f
    """
)


def array_map(array: np.ndarray[Any, Any]) -> dict[bytes, Any]:
    """The map of section 3.1, built by hand: bin keys, str dtype, empty kind, list shape, raw bytes."""
    return {
        b"nd": True,
        b"type": array.dtype.str,
        b"kind": b"",
        b"shape": list(array.shape),
        b"data": array.tobytes(),
    }


def pack(obj: Any) -> bytes:
    packed: bytes = msgpack.packb(obj, use_bin_type=True)
    return packed


def raw_map(**fields: Any) -> bytes:
    """A hand-made array map; keyword names become bin keys (None drops the key)."""
    base: dict[str, Any] = {"nd": True, "type": "<f4", "kind": b"", "shape": [2], "data": b"\x00" * 8}
    base.update(fields)
    return pack({k.encode(): v for k, v in base.items() if v is not None})


# --- the documented layout ---------------------------------------------------------------


def test_annotated_example_bytes_are_what_the_packer_emits() -> None:
    assert pack(array_map(np.array([1.0], dtype="<f4"))) == ANNOTATED_ONE_ELEMENT


def test_annotated_example_decodes_to_one_float32() -> None:
    value = unpack_msgpack(ANNOTATED_ONE_ELEMENT)
    assert isinstance(value, np.ndarray)
    assert value.dtype == np.dtype("<f4")
    assert value.shape == (1,)
    assert value.tolist() == [1.0]


def test_arrays_inside_an_ordinary_response() -> None:
    dense = np.arange(6, dtype="<f4").reshape(2, 3)
    indices = np.array([3, 17, 90311], dtype="<i4")
    body = pack(
        {
            "model": "BAAI/bge-m3",
            "items": [{"id": "q1", "multivector": {"dtype": "float32", "values": array_map(dense)}}],
            "sparse": {"indices": array_map(indices)},
            "blob": b"\x00\x01",
            "score": 0.5,
        }
    )
    decoded = unpack_msgpack(body)
    assert decoded["model"] == "BAAI/bge-m3"
    assert decoded["items"][0]["id"] == "q1"
    np.testing.assert_array_equal(decoded["items"][0]["multivector"]["values"], dense)
    assert decoded["items"][0]["multivector"]["values"].shape == (2, 3)
    np.testing.assert_array_equal(decoded["sparse"]["indices"], indices)
    assert decoded["sparse"]["indices"].dtype == np.dtype("<i4")
    assert decoded["blob"] == b"\x00\x01"  # ordinary bin stays bytes
    assert decoded["score"] == 0.5
    assert decode_body(body, "application/msgpack")["items"][0]["multivector"]["values"].shape == (2, 3)


def test_dtype_name_sent_as_bin_is_accepted() -> None:
    array = np.array([1, -2, 3], dtype="<i2")
    fields = array_map(array)
    fields[b"type"] = b"<i2"
    np.testing.assert_array_equal(unpack_msgpack(pack(fields)), array)


def test_big_endian_data_is_read_in_its_byte_order() -> None:
    array = np.array([1.5, -2.25], dtype=">f8")
    decoded = unpack_msgpack(pack(array_map(array)))
    assert decoded.dtype == np.dtype(">f8")
    assert decoded.tolist() == [1.5, -2.25]


def test_decoded_arrays_are_read_only() -> None:
    decoded = unpack_msgpack(pack(array_map(np.zeros(4, dtype="<f4"))))
    assert not decoded.flags.writeable


@pytest.mark.parametrize("shape", [[0], [3, 0], [0, 0, 5], [1] * 8, []])
def test_edge_shapes(shape: list[int]) -> None:
    array = np.ones(shape, dtype="<f4")
    decoded = unpack_msgpack(pack(array_map(array)))
    assert decoded.shape == tuple(shape)
    np.testing.assert_array_equal(decoded, array)


# --- property: decode(pack(array)) == array ----------------------------------------------


@st.composite
def whitelisted_arrays(draw: st.DrawFn) -> np.ndarray[Any, Any]:
    dtype = np.dtype(draw(st.sampled_from(WHITELIST)))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=5))
    native = draw(hnp.arrays(dtype.newbyteorder("="), shape))
    return native.astype(dtype)


@settings(max_examples=300)
@given(whitelisted_arrays())
def test_round_trip(array: np.ndarray[Any, Any]) -> None:
    decoded = unpack_msgpack(pack(array_map(array)))
    assert isinstance(decoded, np.ndarray)
    assert decoded.dtype.str == array.dtype.str
    assert decoded.shape == array.shape
    assert decoded.tobytes() == array.tobytes()  # bit-exact, NaN and -0.0 included
    np.testing.assert_array_equal(decoded, array)


@settings(max_examples=100)
@given(st.lists(whitelisted_arrays(), min_size=1, max_size=4))
def test_round_trip_nested_in_lists(arrays: list[np.ndarray[Any, Any]]) -> None:
    decoded = unpack_msgpack(pack({"items": [{"values": array_map(a)} for a in arrays]}))
    assert len(decoded["items"]) == len(arrays)
    for got, want in zip(decoded["items"], arrays, strict=True):
        assert got["values"].dtype.str == want.dtype.str
        assert got["values"].tobytes() == want.tobytes()
        assert got["values"].shape == want.shape


# --- scalars -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "value"), [("<f8", 2.5), ("<f4", -1.0), ("|i1", -7), ("<i8", 2**40), ("|u1", 255), ("|b1", True)]
)
def test_scalar(dtype: str, value: Any) -> None:
    expected = np.array([value], dtype=dtype)[0]
    decoded = unpack_msgpack(pack({b"nd": False, b"type": dtype, b"data": expected.tobytes()}))
    assert isinstance(decoded, np.generic)
    assert decoded.dtype == np.dtype(dtype)
    assert decoded == expected


@pytest.mark.parametrize("length", [0, 4, 16])
def test_scalar_with_wrong_data_length(length: int) -> None:
    with pytest.raises(WireFormatError):
        unpack_msgpack(pack({b"nd": False, b"type": "<f8", b"data": b"\x00" * length}))


# --- rejections --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dtype", ["|O", "<c8", "<c16", "|V8", "<U2", "|S8", "<M8[s]", "f4", "=f4", "<f16", "", 3, ["<f4"]]
)
def test_dtype_outside_the_whitelist(dtype: Any) -> None:
    with pytest.raises(WireFormatError):
        unpack_msgpack(raw_map(type=dtype))


def test_missing_dtype() -> None:
    with pytest.raises(WireFormatError):
        unpack_msgpack(pack({b"nd": True, b"kind": b"", b"shape": [2], b"data": b"\x00" * 8}))


@pytest.mark.parametrize("kind", [b"O", b"V", "O", b"\x00"])
def test_non_empty_kind(kind: Any) -> None:
    with pytest.raises(WireFormatError, match="kind"):
        unpack_msgpack(raw_map(kind=kind))


def test_empty_kind_as_str_is_accepted() -> None:
    assert unpack_msgpack(raw_map(kind="")).tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("shape", "data"),
    [
        ([2], b"\x00" * 7),
        ([2], b"\x00" * 9),
        ([2, 3], b"\x00" * 8),
        ([0], b"\x00" * 4),
        ([], b""),
        ([1, 1], b""),
    ],
)
def test_data_length_must_match_shape_and_itemsize(shape: list[int], data: bytes) -> None:
    with pytest.raises(WireFormatError):
        unpack_msgpack(raw_map(shape=shape, data=data))


def test_more_than_eight_dimensions() -> None:
    with pytest.raises(WireFormatError, match="shape"):
        unpack_msgpack(raw_map(shape=[1] * 9, data=b"\x00" * 4))
    assert unpack_msgpack(raw_map(shape=[1] * 8, data=b"\x00" * 4)).ndim == 8


@pytest.mark.parametrize("shape", [[-1], [2, -1], [-2, -1], [-8]])
def test_negative_dimensions(shape: list[int]) -> None:
    count = math.prod(shape)
    with pytest.raises(WireFormatError, match="shape"):
        unpack_msgpack(raw_map(shape=shape, data=b"\x00" * (4 * abs(count))))


@pytest.mark.parametrize("shape", [2, "2", {"0": 2}, [2.0], [True, True], [[2]], ["2"], b"\x02", None])
def test_shape_must_be_a_list_of_ints(shape: Any) -> None:
    with pytest.raises(WireFormatError):
        unpack_msgpack(raw_map(shape=shape))


@pytest.mark.parametrize("data", ["\x00" * 8, [0] * 8, None, 0])
def test_data_must_be_bin(data: Any) -> None:
    with pytest.raises(WireFormatError):
        unpack_msgpack(raw_map(data=data))


def test_rejection_inside_a_nested_response_still_raises() -> None:
    bad = {b"nd": True, b"type": "|O", b"kind": b"O", b"shape": [1], b"data": b"\x80\x04N."}
    with pytest.raises(WireFormatError):
        unpack_msgpack(pack({"items": [{"dense": {"values": bad}}]}))


# --- malformed msgpack -------------------------------------------------------------------


def test_every_truncation_of_a_body_raises() -> None:
    body = pack({"model": "m", "items": [{"dense": {"values": array_map(np.arange(5, dtype="<f4"))}}]})
    unpack_msgpack(body)  # the whole body is fine
    for end in range(len(body)):
        with pytest.raises(WireFormatError):
            unpack_msgpack(body[:end])


@settings(max_examples=100)
@given(whitelisted_arrays(), st.data())
def test_truncated_array_body_raises(array: np.ndarray[Any, Any], data: st.DataObject) -> None:
    body = pack({"values": array_map(array)})
    end = data.draw(st.integers(0, len(body) - 1))
    with pytest.raises(WireFormatError):
        unpack_msgpack(body[:end])


@pytest.mark.parametrize(
    "body",
    [
        ANNOTATED_ONE_ELEMENT + b"\x00",  # trailing bytes
        b"\xc1",  # a never-used msgpack byte
        b"\xa3ab\xff",  # a str that is not UTF-8
        b"",
    ],
)
def test_malformed_msgpack(body: bytes) -> None:
    with pytest.raises(WireFormatError):
        unpack_msgpack(body)


def test_wire_format_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="msgpack"):
        unpack_msgpack(b"\x92\x01")
