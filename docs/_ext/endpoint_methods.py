"""Griffe extension: the client methods made from ``_core/endpoints.py`` documented as the methods they are.

``SIEClient.encode = _sends(Endpoints.encode)`` reads as an attribute to static analysis; this replaces each
such attribute with a method carrying the runtime signature and docstring (which ``like()`` sets), the docstring
parsed as the others are (so its ``Args:`` section renders as the parameter table).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import griffe

_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: griffe.ParameterKind.positional_only,
    inspect.Parameter.POSITIONAL_OR_KEYWORD: griffe.ParameterKind.positional_or_keyword,
    inspect.Parameter.VAR_POSITIONAL: griffe.ParameterKind.var_positional,
    inspect.Parameter.KEYWORD_ONLY: griffe.ParameterKind.keyword_only,
    inspect.Parameter.VAR_KEYWORD: griffe.ParameterKind.var_keyword,
}


def _text(value: Any) -> str | None:
    return None if value is inspect.Parameter.empty else value if isinstance(value, str) else repr(value)


class EndpointMethods(griffe.Extension):
    """Document ``like()``-made client methods as methods."""

    def on_class_members(self, *, cls: griffe.Class, agent: griffe.Visitor | griffe.Inspector, **kwargs: Any) -> None:
        if not cls.path.startswith("sie_integrations._http."):
            return
        runtime = getattr(importlib.import_module(cls.module.path), cls.name)
        for name, member in list(cls.members.items()):
            value = getattr(runtime, name, None)
            if not member.is_attribute or not callable(value) or not hasattr(value, "__signature__"):
                continue
            signature = inspect.signature(value)
            parameters = griffe.Parameters(
                *(
                    griffe.Parameter(
                        p.name, annotation=_text(p.annotation), kind=_KINDS[p.kind], default=_text(p.default)
                    )
                    for p in signature.parameters.values()
                )
            )
            method = griffe.Function(
                name,
                parameters=parameters,
                returns=_text(signature.return_annotation),
                docstring=griffe.Docstring(
                    inspect.getdoc(value) or "", parser=agent.docstring_parser, parser_options=agent.docstring_options
                ),
                lineno=member.lineno,
                endlineno=member.endlineno,
            )
            if inspect.iscoroutinefunction(value):
                method.labels.add("async")
            cls.set_member(name, method)
