"""LangChain's standard embeddings integration suite against the real peer."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests

from sie_integrations.langchain import SIEEmbeddings
from tests.support.live import MINILM


@pytest.mark.live
@pytest.mark.vcr
class TestSIEEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @pytest.fixture(autouse=True)
    def _url(self, sie_url: str) -> None:
        self.url = sie_url

    @property
    def embeddings_class(self) -> type[SIEEmbeddings]:
        return SIEEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, object]:
        return {"model": MINILM, "base_url": self.url}
