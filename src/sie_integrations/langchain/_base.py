"""What the LangChain encoders share: the model, an instruction, batching, and a progress bar."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from pydantic import Field

from .._adapters.batching import Batched, Progress, aencode_batched, encode_batched
from .._adapters.connection import SIEConnection
from .._adapters.model_options import ModelOptions
from ..types import EncodeResult


@contextmanager
def progress_bar(enabled: bool, items: Sequence[Any]) -> Iterator[Progress | None]:
    """A tqdm bar over ``items`` when ``enabled``; what to call with each batch's size."""
    if not enabled:
        yield None
        return
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:
        raise ImportError("show_progress=True needs tqdm: pip install tqdm") from exc
    with tqdm(total=len(items) if isinstance(items, Sequence) else None, unit="text") as bar:
        yield bar.update


class Encoder(SIEConnection, ModelOptions, Batched):
    """An encode model's connection, options, batching and progress bar."""

    model: str = Field(alias="model_name")
    """The model id (also accepted as ``model_name``)."""
    instruction: str | None = None
    """A task instruction sent with every text, for instruction-tuned models."""
    show_progress: bool = False
    """Show a tqdm progress bar (needs ``pip install tqdm``)."""

    def _encode(self, texts: list[str], **args: Any) -> list[EncodeResult]:
        with progress_bar(self.show_progress, texts) as progress:
            batching = self._batching(progress)
            args = {"instruction": self.instruction, **self._options(), **args}
            return encode_batched(self.client, self.model, texts, batching, **args)

    async def _aencode(self, texts: list[str], **args: Any) -> list[EncodeResult]:
        with progress_bar(self.show_progress, texts) as progress:
            batching = self._batching(progress)
            args = {"instruction": self.instruction, **self._options(), **args}
            return await aencode_batched(self.async_client, self.model, texts, batching, **args)
