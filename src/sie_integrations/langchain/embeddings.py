"""SIE embeddings for LangChain: dense (``Embeddings``) and sparse (hybrid search)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langchain_core.embeddings import Embeddings
from pydantic import Field

from .._batching import Progress, aencode_batched, dense_rows, encode_batched
from .._connection import SIEConnection
from ..types import EncodeResult


@contextmanager
def _progress_bar(enabled: bool, total: int) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:
        raise ImportError("show_progress=True needs tqdm: pip install tqdm") from exc
    with tqdm(total=total, unit="text") as bar:
        yield bar.update


class _Encoder(SIEConnection):
    model: str = Field(alias="model_name")
    instruction: str | None = None
    batch_size: int = Field(default=256, ge=1)
    max_concurrency: int = Field(default=2, ge=1)
    show_progress: bool = False

    def _batching(self, **encode_args: Any) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "max_concurrency": self.max_concurrency,
            "instruction": self.instruction,
            **encode_args,
        }

    def _encode(self, texts: list[str], **encode_args: Any) -> list[EncodeResult]:
        with _progress_bar(self.show_progress, len(texts)) as progress:
            return encode_batched(self.client, self.model, texts, progress=progress, **self._batching(**encode_args))

    async def _aencode(self, texts: list[str], **encode_args: Any) -> list[EncodeResult]:
        with _progress_bar(self.show_progress, len(texts)) as progress:
            return await aencode_batched(
                self.async_client, self.model, texts, progress=progress, **self._batching(**encode_args)
            )


class SIEEmbeddings(_Encoder, Embeddings):
    """Dense embeddings from an SIE model.

    Example:
        ```python
        from sie_integrations.langchain import SIEEmbeddings

        embeddings = SIEEmbeddings(model="sentence-transformers/all-MiniLM-L6-v2")
        vectors = embeddings.embed_documents(["hello", "world"])
        ```
    """

    output_dtype: str | None = None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents, in batches, in input order."""
        return dense_rows(self._encode(texts, output_dtype=self.output_dtype)) if texts else []

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (sent with ``is_query``)."""
        return dense_rows(self._encode([text], is_query=True, output_dtype=self.output_dtype))[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        return dense_rows(await self._aencode(texts, output_dtype=self.output_dtype)) if texts else []

    async def aembed_query(self, text: str) -> list[float]:
        return dense_rows(await self._aencode([text], is_query=True, output_dtype=self.output_dtype))[0]


def _sparse_dicts(results: list[EncodeResult]) -> list[dict[str, list[Any]]]:
    out = []
    for result in results:
        if result.sparse is None:
            raise ValueError("the server returned no sparse vector for some inputs")
        out.append(result.sparse.to_dict())
    return out


class SIESparseEncoder(_Encoder):
    """Sparse vectors from an SIE model, as ``{"indices": [...], "values": [...]}``.

    The shape ``PineconeHybridSearchRetriever(sparse_encoder=...)`` expects.
    """

    def encode_documents(self, texts: str | list[str]) -> Any:
        """Sparse vectors of documents; one dict for a single string, else a list."""
        single = isinstance(texts, str)
        batch = [texts] if isinstance(texts, str) else texts
        out = _sparse_dicts(self._encode(batch, output_types=("sparse",))) if batch else []
        return out[0] if single else out

    def encode_queries(self, texts: str | list[str]) -> Any:
        """Sparse vectors of queries (sent with ``is_query``); one dict for a single string, else a list."""
        single = isinstance(texts, str)
        batch = [texts] if isinstance(texts, str) else texts
        out = _sparse_dicts(self._encode(batch, output_types=("sparse",), is_query=True)) if batch else []
        return out[0] if single else out

    async def aencode_documents(self, texts: list[str]) -> list[dict[str, list[Any]]]:
        return _sparse_dicts(await self._aencode(texts, output_types=("sparse",))) if texts else []

    async def aencode_queries(self, texts: list[str]) -> list[dict[str, list[Any]]]:
        return _sparse_dicts(await self._aencode(texts, output_types=("sparse",), is_query=True)) if texts else []
