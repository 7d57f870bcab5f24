"""Normalising streamed tool-call deltas from OpenAI-compatible servers.

Servers differ: some send the name and id once and then argument fragments (the spec), some
repeat the name or id on every delta, some send every parallel call at ``index: 0``, some omit
the index or the id. ``ToolCallMerger`` turns any of these into one shape: a stable int index
per call, the id and name on the call's first fragment only, and the argument fragments in order.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..chat import ToolCallDelta


@dataclass(frozen=True)
class ToolCallFragment:
    """One normalised piece of a streamed tool call."""

    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass
class _Call:
    id: str
    name: str | None
    arguments: str = ""


def _complete_json(text: str) -> bool:
    if not text.strip():
        return False
    try:
        json.loads(text)
    except (ValueError, RecursionError):  # json recurses once per nested array or object
        return False
    return True


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


@dataclass
class ToolCallMerger:
    """Stateful over one streamed message; feed it each delta's ``tool_calls`` in order."""

    calls: list[_Call] = field(default_factory=list)
    _by_wire_index: dict[int | None, int] = field(default_factory=dict)

    @staticmethod
    def _starts_new_call(delta: ToolCallDelta, current: _Call) -> bool:
        name = delta.function.name if delta.function else None
        if delta.id and delta.id != current.id:
            return True  # a different id at the same index: a parallel call sent at index 0
        if name and current.name and name != current.name:
            return True
        # The same name again after complete arguments: a new call of the same tool, not a repeat.
        return bool(name and not delta.id and _complete_json(current.arguments))

    def feed(self, deltas: list[ToolCallDelta]) -> list[ToolCallFragment]:
        out: list[ToolCallFragment] = []
        for delta in deltas:
            position = self._by_wire_index.get(delta.index)
            current = self.calls[position] if position is not None else None
            name = delta.function.name if delta.function else None
            arguments = (delta.function.arguments if delta.function else None) or ""
            if current is None or position is None or self._starts_new_call(delta, current):
                call = _Call(id=delta.id or new_call_id(), name=name or None)
                self.calls.append(call)
                position = len(self.calls) - 1
                self._by_wire_index[delta.index] = position
                call.arguments += arguments
                out.append(ToolCallFragment(position, call.id, call.name, arguments))
                continue
            fresh_name = None
            if name and not current.name:
                current.name = fresh_name = name
            current.arguments += arguments
            if arguments or fresh_name:
                out.append(ToolCallFragment(position, None, fresh_name, arguments))
        return out


def parse_partial_json(text: str) -> Any:
    """A JSON value from a possibly cut-off document (streamed tool arguments); None if hopeless.

    The longest prefix that parses once its open string, objects and arrays are closed. Linear in practice:
    one pass finds the closers of every prefix, and a parse error inside the prefix skips every longer one.
    """
    try:
        return json.loads(text)
    except ValueError:
        pass
    except RecursionError:  # nested too deeply to be arguments; closing shorter prefixes would not help
        return None
    states = _prefix_states(text)
    end = len(states) - 1
    while end > 0:
        in_string, escaped, closers = states[end]
        cut = end - 1 if escaped else end
        candidate = text[:cut] + ('"' if in_string else "") + _suffix(closers)
        try:
            return json.loads(candidate)
        except json.JSONDecodeError as exc:
            end = exc.pos if exc.pos < cut else end - 1  # an error inside the prefix breaks every longer one
        except RecursionError:
            return None
    return None


_Stack = tuple[str, "_Stack"] | None  # closers, innermost first, shared between prefixes


def _suffix(closers: _Stack) -> str:
    out = []
    while closers is not None:
        out.append(closers[0])
        closers = closers[1]
    return "".join(out)


def _prefix_states(text: str) -> list[tuple[bool, bool, _Stack]]:
    """(inside a string, after a backslash, open closers) after each prefix, up to where brackets stop nesting."""
    closers: _Stack = None
    in_string = escaped = False
    states = [(False, False, closers)]
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            closers = ("}" if char == "{" else "]", closers)
        elif char in "}]":
            if closers is None or closers[0] != char:
                break  # no longer prefix can be closed
            closers = closers[1]
        states.append((in_string, escaped, closers))
    return states
