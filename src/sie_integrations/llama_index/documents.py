"""SIE document parsing for LlamaIndex: a reader over files, folders and bytes (Docling on the server), also a
``SimpleDirectoryReader`` file extractor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from llama_index.core.readers.base import BaseReader
from llama_index.core.schema import Document

from .._adapters.documents import Parsing, Source, aload, load, pieces
from ..types import ParsedDocument
from ._base import LlamaIndexConnection


class SIEDocumentReader(LlamaIndexConnection, Parsing, BaseReader):
    """Documents (PDF, DOCX, PPTX, XLSX, HTML, Markdown, CSV, ...) parsed on an SIE server, one ``Document`` a
    file: its Markdown (or text, or Docling's JSON for ``DoclingNodeParser``), with ``source``, ``file_name``,
    ``format``, ``model`` and ``pages`` in its metadata.

    As a ``SimpleDirectoryReader`` file extractor it takes any extension
    (``file_extractor={".pdf": reader, ".docx": reader}``), the reader's metadata merged with the extractor's.

    Example:
        ```python
        from sie_integrations.llama_index import SIEDocumentReader

        docs = SIEDocumentReader(base_url="http://localhost:8080").load_data("reports/")
        ```
    """

    _renames: ClassVar[Mapping[str, str]] = {"model_name": "model"}

    def _documents(self, parsed: ParsedDocument, extra_info: dict[str, Any] | None) -> Iterator[Document]:
        for content, metadata in pieces(parsed, self.model, self.output, self.split):
            yield Document(text=content, metadata={**metadata, **(extra_info or {})})

    def lazy_load_data(
        self, file: Source | Sequence[Source], extra_info: dict[str, Any] | None = None, **kwargs: Any
    ) -> Iterator[Document]:
        """Each document, parsed, as soon as it and those before it are.

        Args:
            file: A file's path, a folder's (its files matching ``glob``), bytes, a binary file object, a
                ``sie_integrations.Document``, or a list of them.
            extra_info: Metadata added to every document (``SimpleDirectoryReader`` passes the file's).
            **kwargs: Not used (``SimpleDirectoryReader`` may pass ``fs``: local files only).
        """
        documents = self._read(file)
        for parsed in load(self.client, self.model, documents, self._batching(), self._failures, **self._args()):
            yield from self._documents(parsed, extra_info)

    def load_data(
        self, file: Source | Sequence[Source], extra_info: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """Every document, parsed (see ``lazy_load_data``).

        Args:
            file: What to load, as for ``lazy_load_data``.
            extra_info: Metadata added to every document.
            **kwargs: Not used.
        """
        return list(self.lazy_load_data(file, extra_info))

    async def alazy_load_data(  # type: ignore[override]
        self, file: Source | Sequence[Source], extra_info: dict[str, Any] | None = None, **kwargs: Any
    ) -> AsyncIterator[Document]:
        """Async ``lazy_load_data``, on the event loop.

        Args:
            file: What to load, as for ``lazy_load_data``.
            extra_info: Metadata added to every document.
            **kwargs: Not used.
        """
        documents = self._read(file)
        parses = aload(self.async_client, self.model, documents, self._batching(), self._failures, **self._args())
        async for parsed in parses:
            for document in self._documents(parsed, extra_info):
                yield document

    async def aload_data(
        self, file: Source | Sequence[Source], extra_info: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """Async ``load_data``, on the event loop.

        Args:
            file: What to load, as for ``lazy_load_data``.
            extra_info: Metadata added to every document.
            **kwargs: Not used.
        """
        return [document async for document in self.alazy_load_data(file, extra_info)]
