"""langchain-tests standard suites for SIEEmbeddings: unit (offline) and integration (live or replayed)."""

from __future__ import annotations

from langchain_tests.unit_tests import EmbeddingsUnitTests

from sie_integrations.langchain import SIEEmbeddings
from tests.support.live import MINILM, RECORDED_URL


class TestSIEEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[SIEEmbeddings]:
        return SIEEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, object]:
        return {"model": MINILM, "base_url": RECORDED_URL}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, object], dict[str, object]]:
        return (
            {"SIE_BASE_URL": "https://sie.example.com", "SIE_API_KEY": "env-key"},
            {"model": MINILM},
            {"base_url": "https://sie.example.com", "api_key": "env-key"},
        )
