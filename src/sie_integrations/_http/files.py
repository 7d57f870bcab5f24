"""One request's files parsed: read when it is sent, one ``ParsedDocument`` per file back (see ``BatchParse``)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from .._core.files import BatchParse, Pending
from ..errors import SIEError
from ..types import ParsedDocument
from .async_client import AsyncSIEClient
from .client import SIEClient


def _largest(files: Sequence[Pending]) -> int:
    """The size limit the request is checked against: each file was checked against its own already."""
    return max(file.max_bytes for file in files)


def parse_files(client: SIEClient, model: str, files: Sequence[Pending], **args: Any) -> list[ParsedDocument]:
    """``files`` read now and parsed in one request; a file that cannot be read, or a request that fails after its
    retries, gives failed parses (an error every request would meet is raised)."""
    request = BatchParse(files)
    try:
        answers = client.parse(model, request.documents, max_bytes=_largest(files), **args) if request.documents else []
        return request.answered(answers)
    except SIEError as error:
        return request.refused(error)


async def aparse_files(
    client: AsyncSIEClient, model: str, files: Sequence[Pending], **args: Any
) -> list[ParsedDocument]:
    """Async ``parse_files``, the files read on a thread."""
    request = await asyncio.to_thread(BatchParse, files)
    try:
        sent = client.parse(model, request.documents, max_bytes=_largest(files), **args) if request.documents else None
        return request.answered(await sent if sent is not None else [])
    except SIEError as error:
        return request.refused(error)
