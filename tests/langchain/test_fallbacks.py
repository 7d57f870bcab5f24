"""LangChain fallbacks: ``max_retries=0`` on the primary sends nothing twice, so a refusal falls through at once;
on ``httpx.MockTransport`` servers."""

from __future__ import annotations

import pytest
from langchain_core.exceptions import ModelRateLimitError

from sie_integrations import RateLimitError
from sie_integrations.langchain import SIEChatModel
from tests.fakes.chat import ChatServer, completion
from tests.fakes.scripted import MockServer

RATE_LIMITED = {"error": {"message": "rate limited", "type": "rate_limit_error", "code": "RATE_LIMIT"}}
QUEUE_FULL = {"detail": {"code": "QUEUE_FULL", "message": "queue full"}}


@pytest.mark.parametrize(("status", "body"), [(429, RATE_LIMITED), (503, QUEUE_FULL)])
async def test_a_refused_primary_with_no_retries_falls_back_at_once(status: int, body: dict[str, object]) -> None:
    """Before: a 429 with ``Retry-After: 0`` was waited out for up to 900 s (4 requests sent in 10 s)."""
    refusing = MockServer().reply(status, body, headers={"Retry-After": "0"})
    backup_server = ChatServer(lambda request: completion({"content": "from the backup"}))
    primary = SIEChatModel(model="m", max_retries=0, **refusing.connection())
    chain = primary.with_fallbacks([SIEChatModel(model="m", **backup_server.connection())])
    assert chain.invoke("hi").content == "from the backup"
    assert (await chain.ainvoke("hi")).content == "from the backup"
    assert refusing.count == 2  # one request a call
    assert len(backup_server.chats) == 2


def test_the_rate_limit_error_carries_the_servers_wait() -> None:
    refusing = MockServer().reply(429, RATE_LIMITED, headers={"Retry-After": "7"})
    with pytest.raises(RateLimitError) as caught:
        SIEChatModel(model="m", max_retries=0, **refusing.connection()).invoke("hi")
    assert isinstance(caught.value, ModelRateLimitError)
    assert caught.value.retry_after == 7.0
    assert caught.value.code == "RATE_LIMIT" and "max_retries=0" in caught.value.message
    assert refusing.count == 1
