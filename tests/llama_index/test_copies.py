"""Copies of the LlamaIndex adapters (``model_copy``, ``copy``, ``deepcopy``, ``pickle``) use their own settings and
ask about their own model, and making one sends nothing; on ``FakeSIE`` (an ``httpx.MockTransport``)."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import SecretStr

from sie_integrations.llama_index import SIEChatModel, SIEEmbeddings
from tests.fakes.sie import FakeSIE, model_entry

Copier = Callable[[Any, dict[str, Any]], Any]
COPIERS: dict[str, Copier] = {
    "model_copy": lambda obj, update: obj.model_copy(update=update),
    "deep model_copy": lambda obj, update: obj.model_copy(update=update, deep=True),
    "copy.deepcopy": lambda obj, update: _assigned(copy.deepcopy(obj), update),
}


def _assigned(obj: Any, update: dict[str, Any]) -> Any:
    for name, value in update.items():
        setattr(obj, name, value)
    return obj


def fake() -> FakeSIE:
    return FakeSIE(
        models=[
            model_entry("tiny-agent", [], max_sequence_length=4096),
            model_entry("sie-fake", [], max_sequence_length=512),
        ]
    )


@pytest.mark.parametrize("copier", COPIERS.values(), ids=COPIERS.keys())
async def test_an_embeddings_copy_uses_its_own_server_and_key(copier: Copier) -> None:
    """Before: whichever of the two was used first chose the server for both."""
    server = fake()
    original = SIEEmbeddings(model_name="sie-fake", api_key=SecretStr("key-a"), **server.connection("https://a.test"))
    copied = copier(original, {"base_url": "https://b.test", "api_key": SecretStr("key-b")})
    await copied.aget_query_embedding("one")
    original.get_query_embedding("two")
    assert [(r.url.host, r.headers["authorization"]) for r in server.requests] == [
        ("b.test", "Bearer key-b"),
        ("a.test", "Bearer key-a"),
    ]


@pytest.mark.parametrize("copier", COPIERS.values(), ids=COPIERS.keys())
def test_a_chat_model_copied_to_another_model_asks_about_that_model(copier: Copier) -> None:
    server = fake()
    agent = SIEChatModel(model_name="tiny-agent", **server.connection())
    assert agent.metadata.context_window == 4096
    other = copier(agent, {"model_name": "sie-fake"})
    assert other.metadata.context_window == 512
    assert agent.metadata.context_window == 4096
    assert server.paths() == ["/v1/models/tiny-agent", "/v1/models/sie-fake"]


def test_pickling_sends_nothing_and_the_copy_asks_again() -> None:
    server = fake()
    llm = SIEChatModel(model_name="tiny-agent", **server.connection())
    assert llm.metadata.context_window == 4096
    restored = pickle.loads(pickle.dumps(llm))
    assert len(server.requests) == 1
    restored.http_client = server.client()
    assert restored.metadata.context_window == 4096
    assert server.paths() == ["/v1/models/tiny-agent", "/v1/models/tiny-agent"]
