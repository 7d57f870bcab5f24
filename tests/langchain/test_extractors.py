"""SIEExtractor (agent tool) and SIEExtractionTransformer: standard tool suites and the real peer."""

from __future__ import annotations

from langchain_core.documents import Document
from langchain_tests.unit_tests import ToolsUnitTests

from sie_integrations._core.batches import plan
from sie_integrations.langchain import SIEExtractionTransformer, SIEExtractor
from tests.fakes.sie import FakeSIE
from tests.support.live import RECORDED_URL

TEXT = "Alice met Bob in Paris."


class TestSIEExtractorUnit(ToolsUnitTests):
    @property
    def tool_constructor(self) -> type[SIEExtractor]:
        return SIEExtractor

    @property
    def tool_constructor_params(self) -> dict[str, object]:
        return {"model": "sie-fake-full", "labels": ["person", "city"], "base_url": RECORDED_URL}

    @property
    def tool_invoke_params_example(self) -> dict[str, object]:
        return {"text": TEXT}


def test_the_transformer_sends_the_planners_requests_and_keeps_input_order() -> None:
    """Documents of mixed length, ``batch_size=4``: the requests ``plan`` makes (grouped by length), as LlamaIndex's
    extractor sends them; each document gets its own extraction back."""
    texts = [f"{'word ' * (i % 7)}Ada {i}" for i in range(10)]
    server = FakeSIE(extract=lambda text: {"classifications": [{"label": text, "score": 1.0}]})
    transformer = SIEExtractionTransformer(model="m", labels=["person"], batch_size=4, **server.connection())
    docs = transformer.transform_documents([Document(page_content=text) for text in texts])
    assert [d.metadata["sie_extraction"]["classifications"][0]["label"] for d in docs] == texts
    sent = sorted([item["text"] for item in body["items"]] for body in server.sent("extract"))
    assert sent == sorted(batch.items for batch in plan(texts, 4))
