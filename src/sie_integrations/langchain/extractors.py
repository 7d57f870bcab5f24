"""SIE extraction for LangChain: an agent tool, and a document transformer for ingestion and graph stores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.documents import BaseDocumentTransformer, Document
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from .._adapters.batching import Batched, BatchSize
from .._adapters.connection import SIEConnection
from .._adapters.extraction import aextract_batched, aextract_one, extract_batched, extract_one, extraction_dict
from .._adapters.model_options import ModelOptions
from ..types import ExtractResult
from ._graph import graph_documents


class ExtractInput(BaseModel):
    """The text to extract from."""

    text: str = Field(description="The text to extract entities, relations and classifications from.")


class _Extracting(SIEConnection, ModelOptions):
    model: str = Field(alias="model_name")
    """The id of an extraction model, such as a GLiNER model (also accepted as ``model_name``)."""
    labels: list[str] = Field(min_length=1)
    """The entity labels to find, such as ``["person", "organization"]`` (at least one)."""


class SIEExtractor(_Extracting, BaseTool):
    """An agent tool: extracts entities, relations, classifications and objects for the configured ``labels``.

    ``invoke({"text": ...})`` returns ``{"entities": [...], "relations": [...], "classifications": [...],
    "objects": [...]}``.
    """

    name: str = "sie_extract"
    """The tool's name, as the model sees it."""
    description: str = (
        "Extract named entities (with character offsets), relations and classifications from a text. Input: the text."
    )
    """What the tool does, as the model sees it."""
    args_schema: type[BaseModel] = ExtractInput
    """The tool's input: one ``text`` string."""

    def _run(self, text: str, **kwargs: Any) -> dict[str, Any]:
        return extraction_dict(extract_one(self.client, self.model, text, labels=self.labels, **self._options()))

    async def _arun(self, text: str, **kwargs: Any) -> dict[str, Any]:
        result = await aextract_one(self.async_client, self.model, text, labels=self.labels, **self._options())
        return extraction_dict(result)


class SIEExtractionTransformer(_Extracting, Batched, BaseDocumentTransformer):
    """Writes the extraction of each document into a copy of it, under ``metadata[metadata_key]``.

    ``convert_to_graph_documents`` gives the extraction as graph documents instead, for a graph store.
    """

    metadata_key: str = "sie_extraction"
    """The metadata key the extraction is written under (default ``"sie_extraction"``)."""
    batch_size: BatchSize = 32
    """Documents per request (default 32); fewer when their text passes 400,000 characters."""

    def _extract(self, documents: Sequence[Document]) -> list[ExtractResult]:
        texts = [d.page_content for d in documents]
        return extract_batched(self.client, self.model, texts, self._batching(), labels=self.labels, **self._options())

    async def _aextract(self, documents: Sequence[Document]) -> list[ExtractResult]:
        texts = [d.page_content for d in documents]
        batching = self._batching()
        return await aextract_batched(
            self.async_client, self.model, texts, batching, labels=self.labels, **self._options()
        )

    def _annotate(self, documents: Sequence[Document], results: list[ExtractResult]) -> list[Document]:
        return [
            doc.model_copy(update={"metadata": {**doc.metadata, self.metadata_key: extraction_dict(result)}}, deep=True)
            for doc, result in zip(documents, results, strict=True)
        ]

    def transform_documents(self, documents: Sequence[Document], **kwargs: Any) -> Sequence[Document]:
        """Copies of the documents, each with its extraction under ``metadata[metadata_key]``, in input order.

        Args:
            documents: The documents; their ``page_content`` is sent in batches of ``batch_size``.
            **kwargs: Not used.
        """
        return self._annotate(documents, self._extract(documents))

    async def atransform_documents(self, documents: Sequence[Document], **kwargs: Any) -> Sequence[Document]:
        """Async ``transform_documents``.

        Args:
            documents: The documents; their ``page_content`` is sent in batches of ``batch_size``.
            **kwargs: Not used.
        """
        return self._annotate(documents, await self._aextract(documents))

    def convert_to_graph_documents(
        self, documents: Sequence[Document], config: RunnableConfig | None = None
    ) -> list[Any]:
        """The extraction of each document as a graph document, for a graph store's ``add_graph_documents``.

        One per document, in input order, with the document as ``source``. Each entity text and label is a node
        (``id`` the text, ``type`` the label, properties ``score``, ``starts``, ``ends``); each relation a
        relationship typed with its label as the server sends it, not normalised (properties: ``score``). A
        relation's head or tail found as no entity is a node of type ``"Entity"``.

        The class is ``langchain_neo4j.graphs.graph_document.GraphDocument`` when langchain-neo4j is installed,
        else langchain-community's, else a plain dataclass with the same fields (``nodes``, ``relationships``,
        ``source``).

        Args:
            documents: The documents; their ``page_content`` is sent in batches of ``batch_size``.
            config: Not used; taken as ``LLMGraphTransformer`` takes it.
        """
        return graph_documents(documents, self._extract(documents))

    async def aconvert_to_graph_documents(
        self, documents: Sequence[Document], config: RunnableConfig | None = None
    ) -> list[Any]:
        """Async ``convert_to_graph_documents``.

        Args:
            documents: The documents; their ``page_content`` is sent in batches of ``batch_size``.
            config: Not used; taken as ``LLMGraphTransformer`` takes it.
        """
        return graph_documents(documents, await self._aextract(documents))
