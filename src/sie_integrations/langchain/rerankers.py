"""SIE reranking for LangChain, as document compressors: a scoring model, or MaxSim over token vectors."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import Field

from .._adapters.batching import Concurrent
from .._adapters.connection import SIEConnection
from .._adapters.model_options import ModelOptions
from .._adapters.multivector import maxsim_ranking
from .._adapters.rerank import Ranked, arerank, rerank
from ..types import ScoreEntry
from .multivector import SIEMultiVectorEmbeddings


def _texts(documents: Sequence[str | Document]) -> list[str]:
    return [d.page_content if isinstance(d, Document) else d for d in documents]


def _dicts(ranked: list[Ranked]) -> list[dict[str, Any]]:
    return [{"index": r.index, "relevance_score": r.score} for r in ranked]


class _Compressor(BaseDocumentCompressor):
    """A document compressor over a ``rerank`` / ``arerank`` that gives scores best first."""

    top_n: int | None = 3
    """Documents ``compress_documents`` keeps (default 3); None keeps all."""

    def rerank(
        self, documents: Sequence[str | Document], query: str, *, top_n: int | None = -1
    ) -> list[dict[str, Any]]:
        """Scores only: ``[{"index": ..., "relevance_score": ...}]``, best first."""
        raise NotImplementedError

    async def arerank(
        self, documents: Sequence[str | Document], query: str, *, top_n: int | None = -1
    ) -> list[dict[str, Any]]:
        """Async ``rerank``."""
        raise NotImplementedError

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """The best ``top_n`` documents, best first, each a copy with ``metadata["relevance_score"]`` set.

        Args:
            documents: The retrieved documents.
            query: The query to rank them against.
            callbacks: Not used.
        """
        _check_documents(documents)
        return _with_scores(documents, self.rerank(documents, query, top_n=self.top_n))

    async def acompress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """Async ``compress_documents``.

        Args:
            documents: The retrieved documents.
            query: The query to rank them against.
            callbacks: Not used.
        """
        _check_documents(documents)
        return _with_scores(documents, await self.arerank(documents, query, top_n=self.top_n))


class SIEReranker(SIEConnection, ModelOptions, Concurrent, _Compressor):
    """Reranks documents against a query with an SIE scoring model; keeps the best ``top_n``.

    Each returned document is a copy with ``metadata["relevance_score"]`` set; inputs are not changed.
    """

    model: str = Field(alias="model_name")
    """The id of a scoring model, a reranker (also accepted as ``model_name``)."""
    instruction: str | None = None
    """A task instruction sent with each request, for rerankers that take one."""

    def rerank(
        self, documents: Sequence[str | Document], query: str, *, top_n: int | None = -1
    ) -> list[dict[str, Any]]:
        """Scores only: ``[{"index": ..., "relevance_score": ...}]``, best first.

        Args:
            documents: The candidates, as strings or ``Document``s.
            query: The query to rank them against.
            top_n: How many to return; -1 (default) or None: all.
        """

        def score(part: Sequence[str]) -> list[ScoreEntry]:
            return self.client.score(self.model, query, part, instruction=self.instruction, **self._options())

        return _dicts(rerank(score, _texts(documents), top_n=top_n, limit=self._limit()))

    async def arerank(
        self, documents: Sequence[str | Document], query: str, *, top_n: int | None = -1
    ) -> list[dict[str, Any]]:
        """Async ``rerank``.

        Args:
            documents: The candidates, as strings or ``Document``s.
            query: The query to rank them against.
            top_n: How many to return; -1 (default) or None: all.
        """

        async def score(part: Sequence[str]) -> list[ScoreEntry]:
            return await self.async_client.score(
                self.model, query, part, instruction=self.instruction, **self._options()
            )

        return _dicts(await arerank(score, _texts(documents), top_n=top_n, limit=self._limit()))


def _check_documents(documents: Sequence[Document]) -> None:
    """Before anything is sent: only ``Document``s can come back with a score (``rerank`` takes strings too)."""
    if isinstance(documents, (str, bytes)) or not isinstance(documents, Sequence):
        raise TypeError(f"documents must be a list of Document, not {type(documents).__name__}")
    for i, doc in enumerate(documents):
        if not isinstance(doc, Document):
            raise TypeError(f"document {i} must be a Document, not {type(doc).__name__}")


def _with_scores(documents: Sequence[Document], ranked: list[dict[str, Any]]) -> list[Document]:
    out = []
    for result in ranked:
        doc = documents[result["index"]]
        out.append(
            doc.model_copy(
                update={"metadata": {**doc.metadata, "relevance_score": result["relevance_score"]}}, deep=True
            )
        )
    return out


class SIEMaxSimReranker(SIEMultiVectorEmbeddings, _Compressor):
    """Reranks documents by MaxSim between the query's and each document's token vectors; keeps the best ``top_n``.

    A second stage after any vector store: the candidates' token vectors come from a multivector model
    (ColBERT-style) and are scored on the client, so the store needs no multivector support. Each returned
    document is a copy with ``metadata["relevance_score"]`` set (the MaxSim score); inputs are not changed.
    """

    def rerank(
        self, documents: Sequence[str | Document], query: str, *, top_n: int | None = -1
    ) -> list[dict[str, Any]]:
        """Scores only: ``[{"index": ..., "relevance_score": ...}]``, best first.

        Args:
            documents: The candidates, as strings or ``Document``s.
            query: The query to rank them against.
            top_n: How many to return; -1 (default) or None: all.
        """
        texts = _texts(documents)
        if not texts:
            return []
        return _dicts(maxsim_ranking(self.embed_query(query), self.embed_documents(texts), top_n))

    async def arerank(
        self, documents: Sequence[str | Document], query: str, *, top_n: int | None = -1
    ) -> list[dict[str, Any]]:
        """Async ``rerank``.

        Args:
            documents: The candidates, as strings or ``Document``s.
            query: The query to rank them against.
            top_n: How many to return; -1 (default) or None: all.
        """
        texts = _texts(documents)
        if not texts:
            return []
        query_vectors, document_vectors = await asyncio.gather(self.aembed_query(query), self.aembed_documents(texts))
        return _dicts(maxsim_ranking(query_vectors, document_vectors, top_n))
