"""SIE chat models for LangChain, over ``/v1/chat/completions``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any, ClassVar, Literal, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LangSmithParams, LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import JsonOutputKeyToolsParser, PydanticToolsParser
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import Field, PrivateAttr, ValidatorFunctionWrapHandler, field_validator, model_validator
from typing_extensions import Self

from .._adapters.chat_model import ChatConnection
from .._adapters.chat_request import chat_request, output_budget, settings_of, wire_tool_choice
from .._adapters.structured import json_schema_format
from .._adapters.usage import MESSAGE_OVERHEAD, Counted, estimated_tokens
from ..chat import ChatCompletion, ChatCompletionRequest
from ._errors import langchain_errors
from ._messages import ChunkMapper, ai_messages, counted_text, messages_to_wire
from ._profile import LazyProfile, profile_from
from ._structured import StructuredOutput

StructuredMethod = Literal["json_schema", "function_calling", "json_mode"]
_Run = CallbackManagerForLLMRun | None
_AsyncRun = AsyncCallbackManagerForLLMRun | None


def _chat_result(completion: ChatCompletion) -> ChatResult:
    return ChatResult(generations=[ChatGeneration(message=m) for m in ai_messages(completion)])


def _tool_choice(tool_choice: dict[str, Any] | str | bool | None, tools: list[dict[str, Any]]) -> Any:
    """LangChain's tool_choice vocabulary ("any" or True: "required"; a tool's name) in wire form."""
    if tool_choice is True or tool_choice == "any":
        return "required"
    if isinstance(tool_choice, bool) or not isinstance(tool_choice, str | dict | None):
        raise ValueError(f"unsupported tool_choice {tool_choice!r}")
    choice = wire_tool_choice(tool_choice)
    if isinstance(tool_choice, str) and isinstance(choice, dict):
        names = {t["function"]["name"] for t in tools}
        if tool_choice not in names:
            raise ValueError(f"tool_choice {tool_choice!r} is not one of the bound tools {sorted(names)}")
    return choice


class SIEChatModel(ChatConnection, BaseChatModel):
    """A chat model served by SIE, with tool calling, streaming and structured output.

    Every request field (``sie_integrations.chat.ChatSettings``) is a field of its own, checked when the model is
    built and sent with every request when set; a call's keyword arguments (``invoke(..., temperature=0)``,
    ``bind``) win over them. ``stop_sequences`` is taken for ``stop``.

    Its errors are both the SIE errors of ``sie_integrations.errors`` and LangChain's standard model errors
    (``ModelRateLimitError``, ``ContextOverflowError``, ...), where the installed langchain-core has them.

    Example:
        ```python
        from sie_integrations.langchain import SIEChatModel

        llm = SIEChatModel(model="Qwen/Qwen3-4B-Instruct-2507", base_url="http://localhost:8080")
        llm.invoke("Hello!")
        ```
    """

    model: str = Field(alias="model_name")
    """The model id (also accepted as ``model_name``); a chat model the server serves."""
    streaming: bool = False
    """Make ``invoke()`` stream under the hood, so callbacks get each token."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """More request fields as a dict, sent with every request, as ``ChatOpenAI`` takes them; checked when the
    model is built (an unknown name is refused with the closest field)."""

    count_tokens: Literal["server", "estimate"] = "server"
    """How ``get_num_tokens`` and ``get_num_tokens_from_messages`` count: ``"server"`` (default) has the served
    model's tokenizer count each text (a one-token ``/v1/generate``: its ``usage.prompt_tokens``), plus 3 tokens a
    message for the chat template; ``"estimate"`` sends nothing: LangChain's ``count_tokens_approximately``."""

    _more_fields: ClassVar[str] = "model_kwargs"
    _counted: Counted = PrivateAttr(default_factory=Counted)
    _renames: ClassVar[Mapping[str, str]] = {"stop_sequences": "stop"}

    # --- capabilities and profile ---------------------------------------------------------

    def _resolve_model_profile(self) -> ModelProfile | None:
        """A profile filled from the server's capabilities on first read (construction sends nothing)."""
        return cast(ModelProfile, LazyProfile(lambda: profile_from(self.capabilities())))

    @field_validator("profile", mode="wrap")
    @classmethod
    def _keep_lazy_profile(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        """A lazy profile passed in stays lazy (validating it as a dict would read it, asking the server)."""
        return value if isinstance(value, LazyProfile) else handler(value)

    @model_validator(mode="after")
    def _check_profile_keys(self) -> Self:
        """Replaces the base check (reading the profile here would ask the server at construction); a lazy profile
        passed in (``configurable_fields`` passes the default model's) is replaced by this model's own."""
        self._own_profile()
        return self

    def _own_profile(self) -> None:
        """A lazy profile read from this model's capabilities (one of another model's would read those)."""
        if isinstance(self.profile, LazyProfile):
            self.__dict__["profile"] = self._resolve_model_profile()

    def _start_afresh(self) -> None:
        """A copy also reads its own profile, and traces as itself."""
        super()._start_afresh()
        self._own_profile()
        self.__dict__.pop("_serialized", None)

    @property
    def _llm_type(self) -> str:
        return "sie-chat"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """True: LangChain's ``dumpd`` and ``dumps`` serialize it, ``api_key`` as a reference to ``SIE_API_KEY``."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Where LangChain's loader finds this class: ``["sie_integrations", "langchain", "chat_models"]``."""
        return ["sie_integrations", "langchain", "chat_models"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        """The secret fields and the environment variable each is read from on load: ``api_key``, ``SIE_API_KEY``."""
        return {"api_key": "SIE_API_KEY"}

    @property
    def _default_params(self) -> dict[str, Any]:
        return {**settings_of(self, json=True), **self.model_kwargs}

    @property
    def lc_attributes(self) -> dict[str, Any]:
        """The request fields it sets, as JSON, so ``dumpd`` keeps those held as pydantic objects (``tools``)."""
        return settings_of(self, json=True)

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, "base_url": self.base_url, **self._default_params}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="sie",
            ls_model_name=kwargs.get("model", self.model),
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = output_budget({**self._settings(), **kwargs})
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        stops = stop or self.stop
        if stops:
            params["ls_stop"] = [stops] if isinstance(stops, str) else stops
        return params

    # --- requests -------------------------------------------------------------------------

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, stream: bool, **kwargs: Any
    ) -> ChatCompletionRequest:
        stream_usage = kwargs.pop("stream_usage", self.stream_usage)
        model = kwargs.pop("model", self.model)
        kwargs.pop("stream", None)
        return chat_request(
            self._settings(),
            kwargs,
            model=model,
            messages=messages_to_wire(messages, reasoning=self.send_reasoning),
            stream=stream,
            stream_usage=stream_usage,
            stop=stop,
        )

    def _generate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: _Run = None, **kwargs: Any
    ) -> ChatResult:
        request = self._request(messages, stop, stream=False, **kwargs)
        with langchain_errors():
            completion = self.client.chat_completions(request)
        return _chat_result(completion)

    async def _agenerate(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: _AsyncRun = None, **kwargs: Any
    ) -> ChatResult:
        request = self._request(messages, stop, stream=False, **kwargs)
        with langchain_errors():
            completion = await self.async_client.chat_completions(request)
        return _chat_result(completion)

    def _stream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: _Run = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        request = self._request(messages, stop, stream=True, **kwargs)
        mapper = ChunkMapper(request.model)
        with langchain_errors(), self.client.stream_chat_completions(request) as stream:
            for chunk in stream:
                message = mapper.feed(chunk)
                if message is not None:
                    generation = ChatGenerationChunk(message=message)
                    if run_manager:
                        run_manager.on_llm_new_token(generation.text, chunk=generation)
                    yield generation
        yield ChatGenerationChunk(message=mapper.finish())

    async def _astream(
        self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: _AsyncRun = None, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        request = self._request(messages, stop, stream=True, **kwargs)
        mapper = ChunkMapper(request.model)
        with langchain_errors():
            async with self.async_client.stream_chat_completions(request) as stream:
                async for chunk in stream:
                    message = mapper.feed(chunk)
                    if message is not None:
                        generation = ChatGenerationChunk(message=message)
                        if run_manager:
                            await run_manager.on_llm_new_token(generation.text, chunk=generation)
                        yield generation
        yield ChatGenerationChunk(message=mapper.finish())

    # --- token counting -------------------------------------------------------------------

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool] | None = None,
    ) -> int:
        """The prompt tokens of ``messages`` and ``tools`` (by default the model's own) for the served model (see
        ``count_tokens``): a sum over the messages, so ``trim_messages(token_counter=llm)`` counts any slice of a
        conversation, in any order, consistently.

        Args:
            messages: The messages to count.
            tools: Tools offered with them (LangChain tools, pydantic models, functions or OpenAI tool dicts).
        """
        offered = (
            settings_of(self, json=True).get("tools") if tools is None else [convert_to_openai_tool(t) for t in tools]
        )
        if self.count_tokens == "estimate" and self.custom_get_token_ids is None:
            return count_tokens_approximately(messages, tools=offered or None)
        texts = [counted_text(m) for m in messages] + ([json.dumps(offered, ensure_ascii=False)] if offered else [])
        return sum(map(self.get_num_tokens, texts)) + MESSAGE_OVERHEAD * len(messages)

    def get_num_tokens(self, text: str) -> int:
        """The tokens of ``text`` alone (no chat template) for the served model (see ``count_tokens``), asked once.

        Args:
            text: The text to count.
        """
        if not text:
            return 0
        if self.custom_get_token_ids is not None:
            return len(self.custom_get_token_ids(text))
        if self.count_tokens == "estimate":
            return estimated_tokens(text)
        counted = self._counted.get(text)
        if counted is None:
            with langchain_errors():
                usage = self.client.generate(self.model, text, max_new_tokens=1).usage
            counted = self._counted.put(text, usage.prompt_tokens or estimated_tokens(text))
        return counted

    def get_token_ids(self, text: str) -> list[int]:
        """``custom_get_token_ids(text)`` when set; SIE serves no token ids, so otherwise a ``NotImplementedError``.

        Args:
            text: The text to tokenize.
        """
        if self.custom_get_token_ids is not None:
            return self.custom_get_token_ids(text)
        raise NotImplementedError(
            "SIE serves token counts, not token ids: use get_num_tokens() or get_num_tokens_from_messages(), "
            "or pass custom_get_token_ids= (your tokenizer's encode)"
        )

    # --- tools and structured output ------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """A runnable that offers ``tools`` to the model with every call.

        Args:
            tools: The tools: LangChain tools, pydantic models, functions, or OpenAI tool dicts.
            tool_choice: ``"auto"``, ``"none"``, ``"any"`` or True (sent as ``"required"``), or the name of one
                of ``tools`` to force it; None: the server's default (``"auto"``). A server that cannot force a
                call refuses ``"required"`` and named tools with ``unsupported_field``.
            strict: Ask the server to hold the arguments to each tool's schema exactly; None: not sent.
            parallel_tool_calls: Allow several tool calls in one turn; None: the server's default (allowed).
            **kwargs: More request fields for every call, as with ``bind``.
        """
        formatted = [convert_to_openai_tool(tool, strict=strict) for tool in tools]
        choice = _tool_choice(tool_choice, formatted)
        if choice is not None:
            kwargs["tool_choice"] = choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: StructuredMethod | None = None,
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Answers parsed into ``schema`` (a pydantic model, TypedDict or JSON schema).

        By default (``method=None``) the best method the server allows: ``response_format`` json_schema
        where it constrains decoding, else a tool call (forced where it can force one, else
        ``tool_choice="auto"``), else the schema in the prompt with validation; a method the server refuses
        is skipped and remembered, and ``raw.response_metadata["structured_output_method"]`` says which
        one answered. An explicit ``method`` is used as is: ``json_schema`` constrains decoding,
        ``function_calling`` forces a tool call, ``json_mode`` asks for any JSON object.

        Args:
            schema: The shape of the answer: a pydantic model (answers are instances of it), a TypedDict or a
                JSON schema dict (answers are dicts). Only ``method="json_mode"`` may leave it out.
            method: ``"json_schema"``, ``"function_calling"`` or ``"json_mode"``; None: the best the server
                allows, as above.
            include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead of the parsed answer alone, so a
                parsing failure does not raise.
            strict: Ask the server to hold the answer to the schema exactly; None: not sent. Not with
                ``json_mode``.
            **kwargs: Refused with ``ValueError`` (no other options).
        """
        if kwargs:
            raise ValueError(f"unexpected arguments: {sorted(kwargs)}")
        if method is None:
            if schema is None:
                raise ValueError("with_structured_output needs a schema (or method='json_mode')")
            return StructuredOutput(self, schema, include_raw=include_raw, strict=strict, memory=self._structured)
        if schema is None and method != "json_mode":
            raise ValueError(f"method={method!r} needs a schema")
        pydantic_schema = isinstance(schema, type) and is_basemodel_subclass(schema)
        trace: dict[str, Any] = {"kwargs": {"method": method}, "schema": schema}
        if method != "json_mode":
            trace["kwargs"]["strict"] = strict
        parser: Runnable[Any, Any]
        if method == "function_calling":
            assert schema is not None
            tool = convert_to_openai_tool(schema, strict=strict)
            name = tool["function"]["name"]
            llm = self.bind_tools(
                [schema], tool_choice=name, strict=strict, parallel_tool_calls=False, ls_structured_output_format=trace
            )
            parser = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
                if pydantic_schema
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method == "json_schema":
            assert schema is not None
            function = convert_to_openai_tool(schema)["function"]
            response_format = json_schema_format(
                function["name"], convert_to_json_schema(schema), description=function.get("description"), strict=strict
            )
            llm = self.bind(response_format=response_format, ls_structured_output_format=trace)
            parser = PydanticOutputParser(pydantic_object=schema) if pydantic_schema else JsonOutputParser()  # type: ignore[arg-type]
        elif method == "json_mode":
            if strict is not None:
                raise ValueError("strict has no meaning with method='json_mode'")
            llm = self.bind(response_format={"type": "json_object"}, ls_structured_output_format=trace)
            parser = PydanticOutputParser(pydantic_object=schema) if pydantic_schema else JsonOutputParser()  # type: ignore[arg-type]
        else:
            raise ValueError(f"method must be json_schema, function_calling or json_mode, not {method!r}")
        if not include_raw:
            return llm | parser
        parse = RunnablePassthrough.assign(parsed=itemgetter("raw") | parser, parsing_error=lambda _: None)
        fallback = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parse.with_fallbacks([fallback], exception_key="parsing_error")


__all__ = ["SIEChatModel"]
