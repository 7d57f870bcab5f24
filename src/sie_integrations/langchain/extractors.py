"""SIE extraction for LangChain: an agent tool, and a document transformer for ingestion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.documents import BaseDocumentTransformer, Document
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from .._adapters.connection import SIEConnection
from .._adapters.extraction import aextract_batched, aextract_one, extract_batched, extract_one, extraction_dict
from ..types import ExtractResult


class ExtractInput(BaseModel):
    """The text to extract from."""

    text: str = Field(description="The text to extract entities, relations and classifications from.")


class _Extracting(SIEConnection):
    model: str = Field(alias="model_name")
    labels: list[str] = Field(min_length=1)


class SIEExtractor(_Extracting, BaseTool):
    """Extracts entities, relations, classifications and objects for the configured ``labels``."""

    name: str = "sie_extract"
    description: str = (
        "Extract named entities (with character offsets), relations and classifications from a text. Input: the text."
    )
    args_schema: type[BaseModel] = ExtractInput

    def _run(self, text: str, **kwargs: Any) -> dict[str, Any]:
        return extraction_dict(extract_one(self.client, self.model, text, labels=self.labels))

    async def _arun(self, text: str, **kwargs: Any) -> dict[str, Any]:
        return extraction_dict(await aextract_one(self.async_client, self.model, text, labels=self.labels))


class SIEExtractionTransformer(_Extracting, BaseDocumentTransformer):
    """Writes the extraction of each document into a copy of it, under ``metadata[metadata_key]``."""

    metadata_key: str = "sie_extraction"
    batch_size: int = Field(default=32, ge=1)

    def _annotate(self, documents: Sequence[Document], results: list[ExtractResult]) -> list[Document]:
        return [
            doc.model_copy(update={"metadata": {**doc.metadata, self.metadata_key: extraction_dict(result)}}, deep=True)
            for doc, result in zip(documents, results, strict=True)
        ]

    def transform_documents(self, documents: Sequence[Document], **kwargs: Any) -> Sequence[Document]:
        texts = [d.page_content for d in documents]
        results = extract_batched(self.client, self.model, texts, labels=self.labels, batch_size=self.batch_size)
        return self._annotate(documents, results)

    async def atransform_documents(self, documents: Sequence[Document], **kwargs: Any) -> Sequence[Document]:
        texts = [d.page_content for d in documents]
        results = await aextract_batched(
            self.async_client, self.model, texts, labels=self.labels, batch_size=self.batch_size
        )
        return self._annotate(documents, results)
