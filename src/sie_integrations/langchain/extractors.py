"""SIE extraction for LangChain: an agent tool, and a document transformer for ingestion."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from langchain_core.documents import BaseDocumentTransformer, Document
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from .._adapters.connection import SIEConnection
from ..types import ExtractResult


class ExtractInput(BaseModel):
    """The text to extract from."""

    text: str = Field(description="The text to extract entities, relations and classifications from.")


def extraction_dict(result: ExtractResult) -> dict[str, Any]:
    """An extraction as plain JSON-ready data."""
    return {
        "entities": [asdict(e) for e in result.entities],
        "relations": [asdict(r) for r in result.relations],
        "classifications": [asdict(c) for c in result.classifications],
        "objects": [asdict(o) for o in result.objects],
    }


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
        return extraction_dict(self.client.extract(self.model, [text], labels=self.labels)[0])

    async def _arun(self, text: str, **kwargs: Any) -> dict[str, Any]:
        results = await self.async_client.extract(self.model, [text], labels=self.labels)
        return extraction_dict(results[0])


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
        results: list[ExtractResult] = []
        for start in range(0, len(documents), self.batch_size):
            part = [d.page_content for d in documents[start : start + self.batch_size]]
            results += self.client.extract(self.model, part, labels=self.labels)
        return self._annotate(documents, results)

    async def atransform_documents(self, documents: Sequence[Document], **kwargs: Any) -> Sequence[Document]:
        results: list[ExtractResult] = []
        for start in range(0, len(documents), self.batch_size):
            part = [d.page_content for d in documents[start : start + self.batch_size]]
            results += await self.async_client.extract(self.model, part, labels=self.labels)
        return self._annotate(documents, results)
