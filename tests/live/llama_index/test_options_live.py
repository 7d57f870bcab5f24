"""Model options from every LlamaIndex adapter reach the real peer: an unknown profile is refused by the server
(400 ``INVALID_INPUT`` "Profile 'nope' not found"), the ``default`` profile is taken; ``SIELLM`` sends the fields
``/v1/generate`` accepts. Replayed from cassettes by default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from sie_integrations import RequestError
from sie_integrations.llama_index import (
    SIELLM,
    SIEEmbeddings,
    SIEExtractor,
    SIEMaxSimReranker,
    SIEMultiModalEmbedding,
    SIEMultiVectorEmbeddings,
    SIEReranker,
    SIESparseEmbeddings,
)
from tests.support.images import RED
from tests.support.live import MINILM

pytestmark = [pytest.mark.live, pytest.mark.vcr]

NODES = [NodeWithScore(node=TextNode(text="Alice met Bob in Paris.")), NodeWithScore(node=TextNode(text="Bananas."))]

Use = Callable[[dict[str, Any], str], Any]
"""An adapter built with ``options`` against the peer at the URL, then used once."""

USES: dict[str, Use] = {
    "embeddings": lambda o, url: SIEEmbeddings(model_name=MINILM, options=o, base_url=url).get_text_embedding("hi"),
    "sparse": lambda o, url: SIESparseEmbeddings(model="sie-fake-full", options=o, base_url=url).get_query_embedding(
        "hi"
    ),
    "multivector": lambda o, url: SIEMultiVectorEmbeddings(
        model="sie-fake-full", options=o, base_url=url
    ).get_text_embeddings(["hi"]),
    "image embeddings": lambda o, url: SIEMultiModalEmbedding(
        model_name="sie-fake-full", options=o, base_url=url
    ).get_image_embedding(str(RED)),
    "reranker": lambda o, url: SIEReranker(model="sie-fake", options=o, base_url=url).postprocess_nodes(
        NODES, QueryBundle("who?")
    ),
    "maxsim": lambda o, url: SIEMaxSimReranker(model="sie-fake-full", options=o, base_url=url).postprocess_nodes(
        NODES, QueryBundle("who?")
    ),
    "extractor": lambda o, url: SIEExtractor(model="sie-fake-full", labels=["person"], options=o, base_url=url).extract(
        [NODES[0].node]
    ),
}


@pytest.mark.parametrize("adapter", list(USES))
def test_options_reach_the_server_from_every_adapter(adapter: str, sie_url: str) -> None:
    use = USES[adapter]
    assert use({"profile": "default"}, sie_url)
    with pytest.raises(RequestError, match=r"Profile 'nope' not found\. Available: \[") as refused:
        use({"profile": "nope"}, sie_url)
    assert (refused.value.status_code, refused.value.code) == (400, "INVALID_INPUT")


async def test_the_llm_sends_options_and_every_generate_field(sie_url: str) -> None:
    llm = SIELLM(model="sie-fake", base_url=sie_url, max_new_tokens=3, seed=7, frequency_penalty=0.5)
    response = await llm.acomplete("Say hello", presence_penalty=0.25, options={"profile": "default"})
    assert response.text.startswith("tok_")
    with pytest.raises(RequestError, match=r"options\.profile 'nope' cannot select a routed model variant"):
        SIELLM(model="sie-fake", base_url=sie_url, max_new_tokens=3, options={"profile": "nope"}).complete("hi")
