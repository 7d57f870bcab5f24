"""SIE text completion for LangChain: a ``BaseLLM`` over the native ``/v1/generate``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseLLM, LangSmithParams
from langchain_core.outputs import Generation, GenerationChunk, LLMResult
from pydantic import Field

from .._adapters.connection import SIEConnection
from .._adapters.generation import Generating, StreamedText, completed, total_usage
from .._core.batches import Batch, singles
from .._core.concurrency import Limit
from .._http.dispatch import arun_batches, run_batches
from ..types import GenerateChunk, GenerateResult
from ._errors import langchain_errors


def _generation(result: GenerateResult, stops: list[str]) -> Generation:
    text, info = completed(result, stops)
    return Generation(text=text, generation_info=info)


def _chunk(text: str, info: dict[str, Any] | None, event: GenerateChunk) -> GenerationChunk | None:
    """Shown text as a chunk, with its tokens' ``logprobs`` when asked; the last one carries the finish reason,
    usage and timings; empty ones are dropped."""
    extra = {"logprobs": event.logprobs} if event.logprobs else {}
    if info is not None or extra:
        return GenerationChunk(text=text, generation_info={**(info or {}), **extra})
    return GenerationChunk(text=text) if text else None


def _result(generations: list[Generation], model: str) -> LLMResult:
    infos = [g.generation_info or {} for g in generations]
    return LLMResult(
        generations=[[g] for g in generations], llm_output={"token_usage": total_usage(infos), "model_name": model}
    )


class SIELLM(SIEConnection, Generating, BaseLLM):
    """Text completion from an SIE generative model, over ``/v1/generate``: the prompt is continued as is.

    ``generation_info`` holds ``finish_reason``, ``usage``, and the server's ``ttft_ms``, ``tpot_ms`` and
    ``attempt_id`` (``request_id`` when streamed) where it sends them. For chat, use ``SIEChatModel``.

    Example:
        ```python
        from sie_integrations.langchain import SIELLM

        llm = SIELLM(model="Qwen/Qwen3-4B-Instruct-2507", max_new_tokens=64)
        llm.invoke("Vector search is")
        ```
    """

    model: str = Field(alias="model_name")
    """The id of a generative model (also accepted as ``model_name``)."""
    max_new_tokens: int = Field(default=256, ge=1, alias="max_tokens")
    """The most tokens to generate (default 256; also accepted as ``max_tokens``)."""
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Strings that end generation when produced (also accepted as ``stop_sequences``); a call's ``stop``
    replaces them."""
    streaming: bool = False
    """Make ``invoke()`` stream under the hood, so callbacks get each token."""
    max_concurrency: int = Field(default=4, ge=1)
    """Prompts generated at once by ``generate`` and ``batch`` with several prompts (default 4)."""

    @property
    def _llm_type(self) -> str:
        return "sie"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """True: LangChain's ``dumpd`` and ``dumps`` serialize it, ``api_key`` as a reference to ``SIE_API_KEY``."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Where LangChain's loader finds this class: ``["sie_integrations", "langchain", "llms"]``."""
        return ["sie_integrations", "langchain", "llms"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        """The secret fields and the environment variable each is read from on load: ``api_key``, ``SIE_API_KEY``."""
        return {"api_key": "SIE_API_KEY"}

    @property
    def _default_params(self) -> dict[str, Any]:
        return {**self._defaults(), **self._options()}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "base_url": self.base_url, **self._default_params}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(ls_provider="sie", ls_model_name=self.model, ls_model_type="llm")
        args = self._args(stop, kwargs)
        params["ls_max_tokens"] = args["max_new_tokens"]
        if "temperature" in args:
            params["ls_temperature"] = args["temperature"]
        if "stop" in args:
            params["ls_stop"] = args["stop"]
        return params

    def _args(self, stop: list[str] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        return self._generate_args(stop if stop is not None else self.stop, kwargs)

    def _limit(self) -> Limit:
        return Limit(pinned=self.max_concurrency)

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        if self.streaming:
            return _result([self._streamed(p, stop, run_manager, kwargs) for p in prompts], self.model)
        args = self._args(stop, kwargs)

        def one(prompt: Batch[str]) -> GenerateResult:
            return self.client.generate(self.model, prompt.items[0], **args)

        with langchain_errors():
            results = list(run_batches(one, singles(prompts), self._limit()))
        return _result([_generation(r, args.get("stop", [])) for r in results], self.model)

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        if self.streaming:
            return _result([await self._astreamed(p, stop, run_manager, kwargs) for p in prompts], self.model)
        args = self._args(stop, kwargs)

        async def one(prompt: Batch[str]) -> GenerateResult:
            return await self.async_client.generate(self.model, prompt.items[0], **args)

        with langchain_errors():
            results = await arun_batches(one, singles(prompts), self._limit())
        return _result([_generation(r, args.get("stop", [])) for r in results], self.model)

    def _streamed(
        self, prompt: str, stop: list[str] | None, run_manager: CallbackManagerForLLMRun | None, kwargs: dict[str, Any]
    ) -> Generation:
        whole = GenerationChunk(text="")
        for chunk in self._stream(prompt, stop, run_manager, **kwargs):
            whole += chunk
        return whole

    async def _astreamed(
        self,
        prompt: str,
        stop: list[str] | None,
        run_manager: AsyncCallbackManagerForLLMRun | None,
        kwargs: dict[str, Any],
    ) -> Generation:
        whole = GenerationChunk(text="")
        async for chunk in self._astream(prompt, stop, run_manager, **kwargs):
            whole += chunk
        return whole

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        args = self._args(stop, kwargs)
        text = StreamedText(self.model, args.get("stop", []))
        with langchain_errors(), self.client.stream_generate(self.model, prompt, **args) as stream:
            for event in stream:
                chunk = _chunk(*text.feed(event), event)
                if chunk is not None:
                    if run_manager and chunk.text:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        args = self._args(stop, kwargs)
        text = StreamedText(self.model, args.get("stop", []))
        with langchain_errors():
            async with self.async_client.stream_generate(self.model, prompt, **args) as stream:
                async for event in stream:
                    chunk = _chunk(*text.feed(event), event)
                    if chunk is not None:
                        if run_manager and chunk.text:
                            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                        yield chunk
