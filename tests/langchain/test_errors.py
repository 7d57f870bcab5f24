"""The LangChain twins of SIE errors: which core model error each one is, and that each one pickles."""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import pytest
from langchain_core import exceptions as lc_exceptions

from sie_integrations import errors
from sie_integrations.langchain._errors import langchain_errors

# The core model error each SIE class becomes, when neither its code nor its status says otherwise.
USUAL_CORE_ERROR: dict[type[errors.SIEError], str] = {
    errors.SIEError: "ModelAPIError",
    errors.SIEConnectionError: "ModelConnectionError",
    errors.SIETimeoutError: "ModelTimeoutError",
    errors.RequestError: "ModelInvalidRequestError",
    errors.ModelNotFoundError: "ModelNotFoundError",
    errors.InputTooLongError: "ContextOverflowError",
    errors.RateLimitError: "ModelRateLimitError",
    errors.ServerError: "ModelAPIError",
    errors.ModelLoadFailedError: "ModelAPIError",
    errors.SIEStreamError: "ModelAPIError",
    errors.ProvisioningError: "ModelAPIError",
    errors.ModelLoadingError: "ModelAPIError",
    errors.LoraLoadingError: "ModelAPIError",
    errors.PoolError: "ModelAPIError",
    errors.InsufficientCreditsError: "ModelInvalidRequestError",
    errors.SpendLimitError: "ModelInvalidRequestError",
    errors.AccountInactiveError: "ModelPermissionDeniedError",
    errors.RelayUnavailableError: "ModelPermissionDeniedError",
    errors.AccountStateUnavailableError: "ModelAPIError",
    errors.ResourceExhaustedError: "ModelAPIError",
}
CORE_ERRORS = sorted(set(USUAL_CORE_ERROR.values()) | {"ModelAuthenticationError", "ModelPermissionDeniedError"})


def _error(cls: type[errors.SIEError], status: int, code: str) -> errors.SIEError:
    error = cls(
        f"{cls.__name__} failed",
        status_code=status,
        code=code,
        param="input",
        retry_after=1.5,
        request_id="req-7",
        details={"type": "server_error"},
    )
    error.item_index = 3
    return error


# The classes a server's context code can arrive in (a 400 or 413 refusal, a 5xx, a stream's error event).
CONTEXT_CODE_CLASSES = (errors.RequestError, errors.ServerError, errors.SIEStreamError, errors.InputTooLongError)


def _cases() -> Iterator[tuple[errors.SIEError, str]]:
    for cls, core in USUAL_CORE_ERROR.items():
        yield _error(cls, 500, "SOME_CODE"), core
        yield (
            _error(cls, 400, "context_length_exceeded"),
            "ContextOverflowError" if cls in CONTEXT_CODE_CLASSES else core,
        )
    yield _error(errors.RequestError, 401, "UNAUTHORIZED"), "ModelAuthenticationError"
    yield _error(errors.RequestError, 403, "FORBIDDEN"), "ModelPermissionDeniedError"


CASES = list(_cases())


def test_every_public_error_has_its_usual_core_error() -> None:
    public = {getattr(errors, name) for name in errors.__all__}
    assert public == set(USUAL_CORE_ERROR)


@pytest.mark.parametrize(("error", "core"), CASES, ids=[f"{type(e).__name__}-{c}" for e, c in CASES])
def test_twins_are_both_errors_and_pickle(error: errors.SIEError, core: str) -> None:
    with pytest.raises(errors.SIEError) as info, langchain_errors():
        raise error
    twin = info.value
    assert type(twin) is not type(error)
    assert type(twin).__name__ == type(error).__name__
    assert isinstance(twin, type(error))
    assert [name for name in CORE_ERRORS if isinstance(twin, getattr(lc_exceptions, name))] == [core]
    assert twin.__cause__ is error
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        restored = pickle.loads(pickle.dumps(twin, protocol=protocol))
        assert type(restored) is type(twin)
        assert restored.args == error.args
        assert str(restored) == str(error)
        assert (restored.message, restored.code, restored.status_code) == (error.message, error.code, error.status_code)
        assert (restored.param, restored.retry_after, restored.request_id) == ("input", 1.5, "req-7")
        assert (restored.details, restored.item_index) == (error.details, 3)


def test_plain_sie_errors_pickle() -> None:
    for cls in USUAL_CORE_ERROR:
        error = _error(cls, 503, "MODEL_LOADING")
        restored = pickle.loads(pickle.dumps(error))
        assert type(restored) is cls
        assert restored.__dict__ == error.__dict__
        assert str(restored) == str(error)


def test_a_twin_stays_itself_and_other_errors_pass_through() -> None:
    with pytest.raises(errors.SIEError) as first, langchain_errors():
        raise errors.RateLimitError("slow down", status_code=429)
    with pytest.raises(errors.SIEError) as again, langchain_errors():
        raise first.value
    assert again.value is first.value
    assert again.value.__cause__ is not again.value
    with pytest.raises(ValueError, match="not ours"), langchain_errors():
        raise ValueError("not ours")
