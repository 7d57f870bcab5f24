"""SIEExtractor (agent tool) and SIEExtractionTransformer: standard tool suites and the real peer."""

from __future__ import annotations

from langchain_tests.unit_tests import ToolsUnitTests

from sie_integrations.langchain import SIEExtractor
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
