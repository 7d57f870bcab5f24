"""Copies of the LangChain adapters (``model_copy``, ``copy``, ``deepcopy``, ``pickle``, ``configurable_fields``)
use their own settings and learn their own profile, and making one sends nothing; on ``FakeSIE`` (an
``httpx.MockTransport``)."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.runnables import ConfigurableField
from pydantic import SecretStr

from sie_integrations._http.client import SIEClient
from sie_integrations.langchain import SIEChatModel, SIEEmbeddings
from tests.fakes.sie import FakeSIE, model_entry

AGENT = model_entry(
    "tiny-agent", [], capabilities={"tools": True, "grammar": [], "streaming": True}, max_sequence_length=4096
)
FAKE = model_entry(
    "sie-fake", ["dense"], capabilities={"tools": False, "grammar": [], "streaming": True}, max_sequence_length=512
)


def fake() -> FakeSIE:
    return FakeSIE(models=[AGENT, FAKE])


Copier = Callable[[Any, dict[str, Any]], Any]
COPIERS: dict[str, Copier] = {
    "model_copy": lambda obj, update: obj.model_copy(update=update),
    "deep model_copy": lambda obj, update: obj.model_copy(update=update, deep=True),
    "copy.copy": lambda obj, update: _assigned(copy.copy(obj), update),
    "copy.deepcopy": lambda obj, update: _assigned(copy.deepcopy(obj), update),
}


def _assigned(obj: Any, update: dict[str, Any]) -> Any:
    for name, value in update.items():
        setattr(obj, name, value)
    return obj


@pytest.mark.parametrize("copier", COPIERS.values(), ids=COPIERS.keys())
@pytest.mark.parametrize("copy_first", [True, False], ids=["copy used first", "original used first"])
def test_an_embeddings_copy_uses_its_own_server_key_headers_and_timeout(copier: Copier, copy_first: bool) -> None:
    """Before: the clients lived in a holder the copy shared, so whichever was used first chose for both."""
    server = fake()
    original = SIEEmbeddings(
        model="sie-fake", base_url="https://a.test", api_key=SecretStr("key-a"), http_client=server.client()
    )
    update = {"base_url": "https://b.test", "api_key": SecretStr("key-b"), "headers": {"x-team": "b"}, "timeout": 7.0}
    copied = copier(original, update)
    first, second = (copied, original) if copy_first else (original, copied)
    first.embed_query("one")
    second.embed_query("two")
    sent = {r.url.host: r for r in server.requests}
    assert set(sent) == {"a.test", "b.test"}
    assert sent["a.test"].headers["authorization"] == "Bearer key-a"
    assert sent["b.test"].headers["authorization"] == "Bearer key-b"
    assert "x-team" not in sent["a.test"].headers
    assert sent["b.test"].headers["x-team"] == "b"
    assert sent["b.test"].extensions["timeout"]["read"] == 7.0
    assert sent["a.test"].extensions["timeout"]["read"] != 7.0


@pytest.mark.parametrize("copier", COPIERS.values(), ids=COPIERS.keys())
def test_a_chat_model_copied_to_another_model_reads_that_models_profile(copier: Copier) -> None:
    """Before: a ``tiny-agent`` copied to ``sie-fake`` reported tool calling and 4,096 input tokens."""
    server = fake()
    agent = SIEChatModel(model="tiny-agent", **server.connection())
    assert agent.profile is not None and agent.profile["tool_calling"] is True
    other = copier(agent, {"model": "sie-fake"})
    assert server.requests[-1].url.path == "/v1/models/tiny-agent"
    assert other.profile is not None
    assert other.profile["tool_calling"] is False
    assert other.profile["max_input_tokens"] == 512
    assert other.capabilities().tools is False
    assert server.requests[-1].url.path == "/v1/models/sie-fake"
    assert agent.profile["max_input_tokens"] == 4096  # the original is untouched
    other.invoke("hi")
    assert server.sent("chat")[-1]["model"] == "sie-fake"


@pytest.mark.parametrize("read_profile_first", [False, True])
def test_pickling_a_chat_model_sends_nothing(monkeypatch: pytest.MonkeyPatch, read_profile_first: bool) -> None:
    """Before: ``pickle.dumps`` filled the profile with ``GET /v1/models/{id}`` (3.3 s against a dead port)."""
    asked: list[str] = []

    def get_model(client: SIEClient, model: str, **kwargs: Any) -> Any:
        asked.append(model)
        raise AssertionError("pickling asked the server")

    llm = SIEChatModel(model="tiny-agent", base_url="http://127.0.0.1:9", max_retries=0)
    if read_profile_first:  # a filled profile (the dead port: capabilities unknown) pickles without asking again
        assert llm.profile is not None and llm.profile["tool_calling"] is True
    monkeypatch.setattr(SIEClient, "get_model", get_model)
    restored = pickle.loads(pickle.dumps(llm))
    assert copy.deepcopy(restored).model == "tiny-agent"
    assert asked == []
    assert restored.model == "tiny-agent" and restored.base_url == "http://127.0.0.1:9"


def test_an_unpickled_chat_model_reads_its_own_profile() -> None:
    server = fake()
    llm = SIEChatModel(model="tiny-agent", base_url="https://sie.test")
    restored = pickle.loads(pickle.dumps(llm))
    restored.http_client = server.client()
    assert restored.profile is not None and restored.profile["max_input_tokens"] == 4096
    assert server.paths() == ["/v1/models/tiny-agent"]


def test_configurable_fields_give_a_model_its_own_server_model_and_profile() -> None:
    server = fake()
    llm = SIEChatModel(model="tiny-agent", **server.connection("https://a.test"))
    assert llm.profile is not None and llm.profile["tool_calling"] is True
    configurable = llm.configurable_fields(
        model=ConfigurableField(id="model"), base_url=ConfigurableField(id="base_url")
    )
    configured = configurable.with_config(configurable={"model": "sie-fake", "base_url": "https://b.test"})
    configured.invoke("hi")
    chat = [r for r in server.requests if r.url.path.endswith("/chat/completions")]
    assert [(r.url.host, server.sent("chat")[0]["model"]) for r in chat] == [("b.test", "sie-fake")]
    bound, _ = configurable._prepare({"configurable": {"model": "sie-fake"}})
    assert isinstance(bound, SIEChatModel)
    assert bound.profile is not None and bound.profile["tool_calling"] is False
    configurable.invoke("hi")  # the default model is untouched
    assert server.sent("chat")[-1]["model"] == "tiny-agent"
    assert server.requests[-1].url.host == "a.test"


def test_the_environment_key_never_follows_a_copy_to_another_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """``SIE_API_KEY`` goes only to ``SIE_BASE_URL``'s server, also from a copy or a configured model."""
    monkeypatch.setenv("SIE_BASE_URL", "https://home.test")
    monkeypatch.setenv("SIE_API_KEY", "sk-env")
    server = fake()
    llm = SIEChatModel(model="tiny-agent", http_client=server.client())
    away = llm.model_copy(update={"base_url": "https://away.test"})
    configured = llm.configurable_fields(base_url=ConfigurableField(id="base_url")).with_config(
        configurable={"base_url": "https://away.test"}
    )
    back = away.model_copy(update={"base_url": "https://home.test"})
    for model in (llm, away, configured, back):
        model.invoke("hi")
    chats = [r for r in server.requests if r.url.path.endswith("/chat/completions")]
    assert [(r.url.host, r.headers.get("authorization")) for r in chats] == [
        ("home.test", "Bearer sk-env"),
        ("away.test", None),
        ("away.test", None),
        ("home.test", "Bearer sk-env"),
    ]


def test_a_copys_updates_are_checked_as_when_built() -> None:
    llm = SIEChatModel(model="tiny-agent", base_url="https://a.test")
    keyed = llm.model_copy(update={"api_key": "sk-copied"})
    assert isinstance(keyed.api_key, SecretStr) and "sk-copied" not in repr(keyed)
    with pytest.raises(ValueError, match="temperature"):
        llm.model_copy(update={"temperature": -1})


def test_a_copy_of_the_profile_is_the_filled_profile() -> None:
    server = fake()
    llm = SIEChatModel(model="tiny-agent", **server.connection())
    assert llm.profile is not None
    assert copy.copy(llm.profile)["max_input_tokens"] == 4096
    assert llm.profile.copy()["tool_calling"] is True
    assert server.paths() == ["/v1/models/tiny-agent"]
