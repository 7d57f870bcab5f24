"""Error responses of every envelope become the right typed errors, parsed directly (``_core/error_mapping.py``;
protocol sections 2.6, 2.7, 9, 12)."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import msgpack
import pytest

from sie_integrations import (
    AccountInactiveError,
    AccountStateUnavailableError,
    InputTooLongError,
    InsufficientCreditsError,
    LoraLoadingError,
    ModelLoadFailedError,
    ModelLoadingError,
    ModelNotFoundError,
    ProvisioningError,
    RateLimitError,
    RelayUnavailableError,
    RequestError,
    ResourceExhaustedError,
    ServerError,
    SIEError,
    SIEStreamError,
    SpendLimitError,
)
from sie_integrations._core.error_mapping import error_class, error_info, parse_retry_after, to_error

JSON = {"content-type": "application/json"}


def test_envelope_a_native_detail_dict_keeps_code_message_param_and_extras() -> None:
    body = (
        b'{"detail":{"code":"MODEL_LOAD_FAILED","message":"Model \'org/x\' failed to load (GATED, attempts=2)",'
        b'"param":"model","error_class":"GATED","attempts":2,"permanent":true,"unrelated":1}}'
    )
    info = error_info(502, JSON, body)
    assert info.status == 502
    assert info.code == "MODEL_LOAD_FAILED"
    assert info.message == "Model 'org/x' failed to load (GATED, attempts=2)"
    assert info.param == "model"
    assert info.details == {"error_class": "GATED", "attempts": 2, "permanent": True}


def test_envelope_b_openai_error_dict_keeps_type_and_param() -> None:
    body = (
        b'{"error":{"message":"unknown field best_of","type":"invalid_request_error",'
        b'"param":"best_of","code":"unsupported_field"}}'
    )
    info = error_info(400, JSON, body)
    assert (info.code, info.message, info.param) == ("unsupported_field", "unknown field best_of", "best_of")
    assert info.details == {"type": "invalid_request_error"}


def test_envelope_b_null_param_is_none() -> None:
    info = error_info(500, JSON, b'{"error":{"message":"boom","type":"server_error","param":null,"code":"x"}}')
    assert info.param is None
    assert info.code == "x"


def test_envelope_c_error_string_and_detail_string_are_both_in_the_message() -> None:
    body = b'{"error":"Service shutting down","detail":"draining connections"}'
    info = error_info(503, {**JSON, "retry-after": "5"}, body)
    assert info.code is None
    assert info.message == "Service shutting down: draining connections"
    assert info.retry_after == 5.0
    assert error_class(info) is ServerError


def test_envelope_d_fastapi_detail_string() -> None:
    info = error_info(404, JSON, b'{"detail":"Not Found"}')
    assert info.code is None
    assert info.message == "Not Found"
    assert error_class(info) is RequestError


def test_envelope_d_fastapi_validation_list_names_each_location() -> None:
    body = (
        b'{"detail":[{"loc":["body","input"],"msg":"Field required","type":"missing"},'
        b'{"loc":["body","dimensions"],"msg":"Input should be a valid integer","type":"int_parsing"}]}'
    )
    info = error_info(422, JSON, body)
    assert info.message == "body.input: Field required; body.dimensions: Input should be a valid integer"
    assert info.code is None
    assert error_class(info) is RequestError


def test_envelope_e_plain_text_becomes_the_message() -> None:
    info = error_info(502, {"content-type": "text/plain"}, b"Bad Gateway\n")
    assert info.message == "Bad Gateway"
    assert info.code is None
    error = to_error(info)
    assert type(error) is ServerError
    assert "HTTP 502" in str(error)


def test_envelope_e_html_from_a_proxy_becomes_the_message() -> None:
    html = b"<html><head><title>504 Gateway Time-out</title></head><body>nginx</body></html>"
    info = error_info(504, {"content-type": "text/html"}, html)
    assert "504 Gateway Time-out" in info.message
    assert type(to_error(info)) is ServerError


def test_envelope_e_huge_text_body_is_truncated() -> None:
    info = error_info(500, {"content-type": "text/plain"}, b"x" * 10_000)
    assert len(info.message) < 2100
    assert info.message.endswith("...")


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        (503, "text/plain", b""),
        (500, "application/json", b"null"),
        (502, "application/json", b'{"detail":{"code":"upstream_error"}}'),
    ],
)
def test_error_without_a_message_says_the_status(status: int, content_type: str, body: bytes) -> None:
    info = error_info(status, {"content-type": content_type}, body)
    assert info.message == f"HTTP {status}"
    assert str(to_error(info)).startswith(f"HTTP {status}")


def test_envelope_e_msgpack_encoded_native_error() -> None:
    body = msgpack.packb(
        {"detail": {"code": "INPUT_TOO_LONG", "message": "input exceeds 8192 tokens", "param": "items[0]"}},
        use_bin_type=True,
    )
    info = error_info(400, {"content-type": "application/msgpack"}, body)
    assert (info.code, info.message, info.param) == ("INPUT_TOO_LONG", "input exceeds 8192 tokens", "items[0]")
    assert error_class(info) is InputTooLongError


def test_header_error_code_overrides_the_body_code() -> None:
    headers = httpx.Headers({**JSON, "X-SIE-Error-Code": "QUEUE_FULL"})
    info = error_info(503, headers, b'{"error":{"message":"busy","code":"transport_failure"}}')
    assert info.code == "QUEUE_FULL"
    assert info.message == "busy"


def test_blank_header_error_code_does_not_override() -> None:
    info = error_info(404, {**JSON, "x-sie-error-code": "  "}, b'{"detail":{"code":"MODEL_NOT_FOUND","message":"m"}}')
    assert info.code == "MODEL_NOT_FOUND"


def test_lowercase_provisioning_is_normalised() -> None:
    info = error_info(503, JSON, b'{"error":{"message":"scaling up","code":"provisioning"}}')
    assert info.code == "PROVISIONING"
    assert error_class(info) is ProvisioningError


def test_request_id_and_retry_after_headers_are_kept() -> None:
    headers = {**JSON, "x-sie-request-id": "req-42", "retry-after": "7"}
    error = to_error(error_info(503, headers, b'{"detail":{"code":"MODEL_LOADING","message":"loading"}}'))
    assert isinstance(error, ModelLoadingError)
    assert error.request_id == "req-42"
    assert error.retry_after == 7.0
    assert "request_id=req-42" in str(error)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (404, "MODEL_NOT_FOUND", ModelNotFoundError),
        (404, "model_not_found", ModelNotFoundError),
        (400, "MODEL_NOT_FOUND", ModelNotFoundError),  # a slash in the generate path
        (400, "INPUT_TOO_LONG", InputTooLongError),
        (413, "INPUT_TOO_LONG", RequestError),
        (413, "PAYLOAD_TOO_LARGE", RequestError),
        (400, "INVALID_INPUT", RequestError),
        (400, "invalid_request", RequestError),
        (402, "INSUFFICIENT_CREDITS", InsufficientCreditsError),
        (402, "KEY_SPEND_LIMIT_EXCEEDED", SpendLimitError),
        (402, None, RequestError),
        (403, "ACCOUNT_SUSPENDED", AccountInactiveError),
        (403, "ACCOUNT_PENDING_REVIEW", AccountInactiveError),
        (403, "THIRD_PARTY_SERVING_DISABLED", RelayUnavailableError),
        (403, "THIRD_PARTY_RUNTIME_UNLISTED", RelayUnavailableError),
        (403, "THIRD_PARTY_REGION_UNAVAILABLE", RelayUnavailableError),
        (403, "FORBIDDEN", RequestError),
        (400, "INSUFFICIENT_CREDITS", RequestError),  # the status and the code together, as the SDK reads them
        (422, None, RequestError),
        (429, "RATE_LIMIT", RateLimitError),
        (429, None, RateLimitError),
        (500, "INFERENCE_ERROR", ServerError),
        (500, "inference_error", ServerError),
        (501, "unsupported_operation", ServerError),
        (502, "upstream_error", ServerError),
        (502, "MODEL_LOAD_FAILED", ModelLoadFailedError),
        (503, "QUEUE_FULL", ServerError),
        (503, "RESOURCE_EXHAUSTED", ResourceExhaustedError),
        (503, "ACCOUNT_STATE_UNAVAILABLE", AccountStateUnavailableError),
        (503, "MODEL_NOT_LOADED", ServerError),
        (503, None, ServerError),
        (504, None, ServerError),
        (503, "MODEL_LOADING", ModelLoadingError),
        (503, "PROVISIONING", ProvisioningError),
        (503, "LORA_LOADING", LoraLoadingError),
        (202, None, ProvisioningError),
        (301, None, RequestError),
        (307, None, RequestError),
    ],
)
def test_error_class_mapping(status: int, code: str | None, expected: type[SIEError]) -> None:
    body = b"{}" if code is None else b'{"detail":{"code":"%s","message":"m"}}' % code.encode()
    error = to_error(error_info(status, JSON, body))
    assert type(error) is expected
    assert error.status_code == status
    assert error.code == code


def test_subclass_relations_let_callers_catch_the_sdk_names() -> None:
    assert issubclass(InputTooLongError, RequestError)
    assert issubclass(ModelNotFoundError, RequestError)
    assert issubclass(RateLimitError, RequestError)
    assert issubclass(ModelLoadFailedError, ServerError)
    assert issubclass(SIEStreamError, ServerError)
    assert not issubclass(ProvisioningError, ServerError)


def test_model_load_failed_exposes_error_class_and_permanent() -> None:
    permanent = to_error(
        error_info(
            502,
            JSON,
            b'{"detail":{"code":"MODEL_LOAD_FAILED","message":"gated","error_class":"GATED",'
            b'"attempts":2,"permanent":true}}',
        )
    )
    assert isinstance(permanent, ModelLoadFailedError)
    assert permanent.error_class == "GATED"
    assert permanent.permanent is True
    assert permanent.details["attempts"] == 2

    transient = to_error(
        error_info(
            502,
            JSON,
            b'{"error":{"code":"MODEL_LOAD_FAILED","message":"oom","type":"server_error",'
            b'"error_class":"OOM","attempts":1,"permanent":false}}',
        )
    )
    assert isinstance(transient, ModelLoadFailedError)
    assert transient.error_class == "OOM"
    assert transient.permanent is False

    bare = to_error(error_info(502, JSON, b'{"detail":{"code":"MODEL_LOAD_FAILED","message":"x"}}'))
    assert isinstance(bare, ModelLoadFailedError)
    assert bare.error_class is None
    assert bare.permanent is True  # the protocol's default


def test_redirect_message_says_redirects_are_not_followed() -> None:
    error = to_error(error_info(302, {"location": "http://elsewhere.test/"}, b""))
    assert type(error) is RequestError
    assert error.status_code == 302
    assert "redirect" in error.message
    assert "not followed" in error.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        ("0", 0.0),
        (" 12 ", 12.0),
        ("1.5", 1.5),
        ("-1", None),
        ("-0.5", None),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("Wed, 99 Foo 2015 07:28:00 GMT", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date_in_the_future() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30.0)


def test_parse_retry_after_http_date_in_the_past_is_zero() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after(formatdate(now - 3600, usegmt=True), now=now) == 0.0


def test_parse_retry_after_http_date_against_the_real_clock() -> None:
    seconds = parse_retry_after(formatdate(time.time() + 120, usegmt=True))
    assert seconds is not None
    assert 100 < seconds <= 121
