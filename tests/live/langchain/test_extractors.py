"""SIEExtractor and SIEExtractionTransformer against the real peer: the standard tool integration suite, an
agent's tool call, documents transformed."""

from __future__ import annotations

import pytest
from langchain_core.documents import Document
from langchain_core.messages import ToolMessage
from langchain_tests.integration_tests import ToolsIntegrationTests

from sie_integrations.langchain import SIEExtractionTransformer, SIEExtractor

TEXT = "Alice met Bob in Paris."


@pytest.mark.live
@pytest.mark.vcr
class TestSIEExtractorIntegration(ToolsIntegrationTests):
    @pytest.fixture(autouse=True)
    def _url(self, sie_url: str) -> None:
        self.url = sie_url

    @property
    def tool_constructor(self) -> type[SIEExtractor]:
        return SIEExtractor

    @property
    def tool_constructor_params(self) -> dict[str, object]:
        return {"model": "sie-fake-full", "labels": ["person", "city"], "base_url": self.url}

    @property
    def tool_invoke_params_example(self) -> dict[str, object]:
        return {"text": TEXT}


@pytest.mark.live
@pytest.mark.vcr
def test_extractor_as_an_agent_tool_call(sie_url: str) -> None:
    tool = SIEExtractor(model="sie-fake-full", labels=["person", "city"], base_url=sie_url)
    message = tool.invoke({"type": "tool_call", "id": "call_1", "name": tool.name, "args": {"text": TEXT}})
    assert isinstance(message, ToolMessage)
    assert message.tool_call_id == "call_1"
    direct = tool.invoke({"text": TEXT})
    assert {e["label"] for e in direct["entities"]} <= {"person", "city"}
    for entity in direct["entities"]:
        assert TEXT[entity["start"] : entity["end"]] == entity["text"]
    assert {c["label"] for c in direct["classifications"]} == {"person", "city"}
    assert set(direct) == {"entities", "relations", "classifications", "objects"}


@pytest.mark.live
@pytest.mark.vcr
async def test_transformer_writes_metadata_without_touching_inputs(sie_url: str) -> None:
    docs = [Document(page_content=t, metadata={"source": i}) for i, t in enumerate([TEXT, "Carol lives in Rome.", "x"])]
    transformer = SIEExtractionTransformer(
        model="sie-fake-full", labels=["person", "city"], base_url=sie_url, batch_size=2
    )
    out = transformer.transform_documents(docs)
    assert [d.metadata["source"] for d in out] == [0, 1, 2]
    assert all("sie_extraction" in d.metadata for d in out)
    assert all("sie_extraction" not in d.metadata for d in docs)
    assert out[1].metadata["sie_extraction"]["classifications"]
    again = await transformer.atransform_documents(docs)
    assert [d.metadata for d in again] == [d.metadata for d in out]
