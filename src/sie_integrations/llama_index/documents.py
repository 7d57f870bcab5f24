"""SIE document parsing for LlamaIndex: a reader over files, folders and bytes (Docling on the server), also a
``SimpleDirectoryReader`` file extractor."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from llama_index.core.readers.base import BaseReader
from llama_index.core.schema import Document

from .._adapters.documents import Parsing, Source, aload, load, pieces
from ..types import Document as DocumentFile
from ..types import ParsedDocument
from ._base import LlamaIndexConnection

_NOT_EMBEDDED = ("source", "format", "model", "pages", "section")
"""Metadata left out of the text LlamaIndex embeds: the file's name and the heading path stay in."""
_NOT_FOR_THE_LLM = ("format", "model", "pages", "section")


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
        for number, (content, metadata) in enumerate(pieces(parsed, self.model, self.output, self.split)):
            source = metadata.get("source")
            document = Document(
                text=content,
                metadata={**metadata, **(extra_info or {})},
                excluded_embed_metadata_keys=list(_NOT_EMBEDDED),
                excluded_llm_metadata_keys=list(_NOT_FOR_THE_LLM),
            )
            if source is not None:  # the same file gives the same ids: re-ingesting replaces, not duplicates
                document.id_ = source if self.split == "file" else f"{source}#{number}"
            yield document

    def _sources(self, file: Source | Sequence[Source], fs: Any) -> Source | Sequence[Source]:
        """``file`` read through ``fs`` (the fsspec file system ``SimpleDirectoryReader`` passes), if given."""
        if fs is None:
            return file
        if not isinstance(file, str | os.PathLike):
            raise TypeError("with fs=, a file is a path on that file system")
        with fs.open(os.fspath(file), "rb") as handle:
            return DocumentFile(handle.read(), name=os.fspath(file))

    def lazy_load_data(
        self, file: Source | Sequence[Source], extra_info: dict[str, Any] | None = None, **kwargs: Any
    ) -> Iterator[Document]:
        """Each document, parsed, as soon as it and those before it are.

        Args:
            file: A file's path, a folder's (its files matching ``glob``), bytes, a binary file object, a
                ``sie_integrations.Document``, or a list of them.
            extra_info: Metadata added to every document (``SimpleDirectoryReader`` passes the file's).
            **kwargs: ``fs``, an fsspec file system to read a file's path from (``SimpleDirectoryReader``'s).
        """
        files = self._plan(self._sources(file, kwargs.get("fs")))
        for parsed in load(self.client, self.model, files, self._batching(), self._failures, **self._options()):
            yield from self._documents(parsed, extra_info)

    def load_data(
        self, file: Source | Sequence[Source], extra_info: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """Every document, parsed (see ``lazy_load_data``).

        Args:
            file: What to load, as for ``lazy_load_data``.
            extra_info: Metadata added to every document.
            **kwargs: ``fs``, as for ``lazy_load_data``.
        """
        return list(self.lazy_load_data(file, extra_info, **kwargs))

    async def aload_data(
        self, file: Source | Sequence[Source], extra_info: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """Async ``load_data``: the files read on a thread, the parsing on the event loop.

        Args:
            file: What to load, as for ``lazy_load_data``.
            extra_info: Metadata added to every document.
            **kwargs: ``fs``, as for ``lazy_load_data``.
        """
        sources = await asyncio.to_thread(self._sources, file, kwargs.get("fs"))
        files = await asyncio.to_thread(self._plan, sources)
        batching, gate = self._batching(), self._gate()
        parses = aload(self.async_client, self.model, files, batching, self._failures, gate, **self._options())
        return [document async for parsed in parses for document in self._documents(parsed, extra_info)]

    async def alazy_load_data(
        self, file: Source | Sequence[Source], extra_info: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """``aload_data``, as ``BaseReader`` has it: awaited, it gives the documents.

        Args:
            file: What to load, as for ``lazy_load_data``.
            extra_info: Metadata added to every document.
            **kwargs: ``fs``, as for ``lazy_load_data``.
        """
        return await self.aload_data(file, extra_info, **kwargs)
