"""SIE document parsing for LangChain: a document loader over files, folders and bytes (Docling on the server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.document_loaders import BaseLoader
from langchain_core.documents import Document

from .._adapters.connection import SIEConnection
from .._adapters.documents import Parsing, Source, aload, load, pieces
from ..types import ParsedDocument


class SIEDocumentLoader(SIEConnection, Parsing, BaseLoader):
    """Documents (PDF, DOCX, PPTX, XLSX, HTML, Markdown, CSV, ...) parsed on an SIE server, one ``Document`` a
    file: its Markdown (or text, or Docling's JSON), with ``source``, ``file_name``, ``format``, ``model`` and
    ``pages`` in its metadata.

    Every file is checked before anything is sent (a missing one raises ``FileNotFoundError``) and read only
    when its request is sent; the documents are parsed ``batch_size`` a request, several requests in flight, and
    each is yielded as soon as it and those before it are parsed.

    Example:
        ```python
        from sie_integrations.langchain import SIEDocumentLoader

        docs = SIEDocumentLoader("reports/", glob="**/*.pdf", base_url="http://localhost:8080").load()
        ```
    """

    file_path: Any
    """What to load: a file's path, a folder's (its files matching ``glob``), bytes, a binary file object, a
    ``sie_integrations.Document``, or a list of them."""
    show_progress: bool = False
    """Show a progress bar (needs ``tqdm``)."""

    def __init__(self, file_path: Source | Sequence[Source], **kwargs: Any) -> None:
        super().__init__(**{"file_path": file_path, **kwargs})

    def _documents(self, parsed: ParsedDocument) -> Iterator[Document]:
        for number, (content, metadata) in enumerate(pieces(parsed, self.model, self.output, self.split)):
            source = metadata.get("source")  # the same file gives the same ids: re-indexing replaces
            ident = None if source is None else source if self.split == "file" else f"{source}#{number}"
            yield Document(page_content=content, metadata=metadata, id=ident)

    def _progress(self, total: int) -> Any:
        if not self.show_progress:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError as exc:
            raise ImportError("show_progress needs tqdm: pip install tqdm") from exc
        return tqdm(total=total, desc="Parsing documents")

    def lazy_load(self) -> Iterator[Document]:
        """Each document, parsed, as soon as it and those before it are."""
        files = self._plan(self.file_path)
        bar = self._progress(len(files))
        batching = self._batching(bar.update if bar is not None else None)
        try:
            parses = load(self.client, self.model, files, batching, self._failures, **self._options())
            for parsed in parses:
                yield from self._documents(parsed)
        finally:
            if bar is not None:
                bar.close()

    async def alazy_load(self) -> AsyncIterator[Document]:
        """Async ``lazy_load``: the files read on a thread, the parsing on the event loop."""
        files = await asyncio.to_thread(self._plan, self.file_path)
        bar = self._progress(len(files))
        batching = self._batching(bar.update if bar is not None else None)
        try:
            parses = aload(
                self.async_client, self.model, files, batching, self._failures, self._gate(), **self._options()
            )
            async for parsed in parses:
                for document in self._documents(parsed):
                    yield document
        finally:
            if bar is not None:
                bar.close()
