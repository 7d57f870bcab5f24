"""Model options from every LangChain adapter reach the real peer: an unknown profile is refused by the server
(400 ``INVALID_INPUT`` "Profile 'nope' not found"), the ``default`` profile is taken; ``SIELLM`` sends the fields
``/v1/generate`` accepts. Replayed from cassettes by default."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.documents import Document

from sie_integrations import RequestError
from sie_integrations.langchain import (
    SIELLM,
    SIEEmbeddings,
    SIEExtractionTransformer,
    SIEExtractor,
    SIEMaxSimReranker,
    SIEMultiVectorEmbeddings,
    SIEReranker,
    SIESparseEncoder,
)
from tests.support.images import RED
from tests.support.live import MINILM

pytestmark = [pytest.mark.live, pytest.mark.vcr]

DOCS = [Document(page_content="Alice met Bob in Paris."), Document(page_content="Bananas are yellow.")]

Use = Callable[[dict[str, Any], str], Any]
"""An adapter built with ``options`` against the peer at the URL, then used once."""

USES: dict[str, Use] = {
    "embeddings": lambda o, url: SIEEmbeddings(model=MINILM, options=o, base_url=url).embed_documents(["hi"]),
    "sparse": lambda o, url: SIESparseEncoder(model="sie-fake-full", options=o, base_url=url).embed_query("hi"),
    "multivector": lambda o, url: SIEMultiVectorEmbeddings(
        model="sie-fake-full", options=o, base_url=url
    ).embed_documents(["hi"]),
    "image embeddings": lambda o, url: SIEEmbeddings(model="sie-fake-full", options=o, base_url=url).embed_image(
        [str(RED)]
    ),
    "reranker": lambda o, url: SIEReranker(model="sie-fake", options=o, base_url=url).compress_documents(DOCS, "who?"),
    "maxsim": lambda o, url: SIEMaxSimReranker(model="sie-fake-full", options=o, base_url=url).compress_documents(
        DOCS, "who?"
    ),
    "extractor tool": lambda o, url: SIEExtractor(
        model="sie-fake-full", labels=["person"], options=o, base_url=url
    ).invoke({"text": "Alice met Bob."}),
    "extraction transformer": lambda o, url: SIEExtractionTransformer(
        model="sie-fake-full", labels=["person"], options=o, base_url=url
    ).transform_documents(DOCS),
}


@pytest.mark.parametrize("adapter", list(USES))
def test_options_reach_the_server_from_every_adapter(adapter: str, sie_url: str) -> None:
    use = USES[adapter]
    assert use({"profile": "default"}, sie_url)  # taken: the model's one profile
    with pytest.raises(RequestError, match=r"Profile 'nope' not found\. Available: \[") as refused:
        use({"profile": "nope"}, sie_url)
    assert (refused.value.status_code, refused.value.code) == (400, "INVALID_INPUT")


def test_the_llm_sends_options_and_every_generate_field(sie_url: str) -> None:
    """``seed``, ``frequency_penalty`` and ``presence_penalty`` used to be refused before sending; the peer takes
    them. Generate reads ``options.profile`` as a routed variant: another profile is refused, ``default`` taken."""
    llm = SIELLM(model="sie-fake", base_url=sie_url, max_new_tokens=3, seed=7, frequency_penalty=0.5)
    assert llm.invoke("Say hello", presence_penalty=0.25, options={"profile": "default"}).startswith("tok_")
    with pytest.raises(RequestError, match=r"options\.profile 'nope' cannot select a routed model variant"):
        SIELLM(model="sie-fake", base_url=sie_url, max_new_tokens=3, options={"profile": "nope"}).invoke("hi")
    with pytest.raises(RequestError, match=r"unsupported field\(s\): \['lora_adapter'\]"):
        llm.invoke("hi", lora_adapter="legal")  # a standalone server refuses it; a gateway takes it
