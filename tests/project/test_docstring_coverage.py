"""Docstring coverage of the public API, seen as the reference pages see it.

The package is loaded with griffe the way mkdocstrings does (``mkdocs.yml``: google docstrings, the
``EndpointMethods`` extension, ``inherited_members``, ``merge_init_into_class``, the same name filters), so a
member counts as described exactly when its entry on the built site has a description. The clients' endpoint
methods (``SIEClient.encode``, ...) take their docstrings from ``_core/endpoints.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import griffe
import pytest

from tests.support.live import ROOT

EXTENSION = f"{ROOT / 'docs' / '_ext' / 'endpoint_methods.py'}:EndpointMethods"

# The modules whose ``__all__`` is the public API (the package itself last: its names repeat the others').
PUBLIC_MODULES = (
    "sie_integrations.errors",
    "sie_integrations.types",
    "sie_integrations.chat",
    "sie_integrations.langchain",
    "sie_integrations.llama_index",
    "sie_integrations",
)
HIDDEN = re.compile(r"^_|^model_config$")  # mkdocs.yml's member filters
PASS_THROUGH = (griffe.ParameterKind.var_positional, griffe.ParameterKind.var_keyword)


@pytest.fixture(scope="module")
def package() -> griffe.Module:
    loader = griffe.GriffeLoader(
        extensions=griffe.load_extensions(EXTENSION),
        search_paths=[str(ROOT / "src")],
        docstring_parser=griffe.Parser.google,
    )
    module = loader.load("sie_integrations")
    loader.resolve_aliases(implicit=False)
    return module


def _target(obj: griffe.Object | griffe.Alias) -> griffe.Object:
    """The object itself, for an import or an inherited member."""
    return obj.final_target if isinstance(obj, griffe.Alias) else obj


def _defined_here(obj: griffe.Object | griffe.Alias) -> bool:
    """Defined in this package, not inherited from langchain-core, llama-index-core or pydantic."""
    return _target(obj).path.startswith("sie_integrations.")


def _described(obj: griffe.Object | griffe.Alias) -> bool:
    return obj.docstring is not None and bool(obj.docstring.value.strip())


def _args(*objects: griffe.Object | griffe.Alias | None) -> set[str]:
    """The parameter names the ``Args:`` sections of these objects' docstrings describe."""
    names: set[str] = set()
    for obj in objects:
        if obj is None or obj.docstring is None:
            continue
        for section in obj.docstring.parsed:
            if section.kind is griffe.DocstringSectionKind.parameters:
                names.update(parameter.name for parameter in section.value)
    return names


def _undescribed(parameters: griffe.Parameters, described: set[str]) -> list[str]:
    return [
        p.name
        for p in parameters
        if p.name not in ("self", "cls") and p.kind not in PASS_THROUGH and p.name not in described
    ]


def _where(obj: griffe.Object, shown_as: str) -> str:
    """How a gap is reported: the name the pages show, and where to write the docstring when that differs."""
    return shown_as if obj.path == shown_as else f"{shown_as} (in {obj.path})"


def _function_gaps(function: griffe.Function, shown_as: str) -> Iterator[str]:
    if not _described(function):
        yield f"{_where(function, shown_as)}: no docstring"
    for name in _undescribed(function.parameters, _args(function)):
        yield f"{_where(function, shown_as)}: parameter {name!r} not in Args"


def _class_gaps(cls: griffe.Class, shown_as: str) -> Iterator[str]:
    if not _described(cls):
        yield f"{_where(cls, shown_as)}: no docstring"
    members = {name: member for name, member in cls.all_members.items() if _defined_here(member)}
    init = members.get("__init__")
    if init is not None and init.is_function:
        # merge_init_into_class: the constructor's parameters are the class's; a field documents its own.
        fields = {name for name, member in members.items() if member.is_attribute and _described(member)}
        for name in _undescribed(init.parameters, _args(cls, init) | fields):
            yield f"{_where(_target(init), shown_as)}: parameter {name!r} not in Args"
    for name, member in members.items():
        if not HIDDEN.search(name):
            yield from _gaps(member, f"{shown_as}.{name}")


def _gaps(obj: griffe.Object | griffe.Alias, shown_as: str) -> Iterator[str]:
    """What ``obj``, shown on the pages as ``shown_as``, lacks."""
    target = _target(obj)
    if isinstance(target, griffe.Class):
        yield from _class_gaps(target, shown_as)
    elif isinstance(target, griffe.Function):
        yield from _function_gaps(target, shown_as)
    elif not _described(target):
        yield f"{_where(target, shown_as)}: no description"


def _coverage(package: griffe.Module) -> dict[str, list[str]]:
    """Each public module's undescribed names, every public object counted once (where first listed)."""
    seen: set[str] = set()
    gaps: dict[str, list[str]] = {}
    for module_path in PUBLIC_MODULES:
        module = package if module_path == package.path else package[module_path.removeprefix("sie_integrations.")]
        assert module.exports, f"{module_path} has no __all__"
        gaps[module_path] = []
        for name in map(str, module.exports):
            obj = module[name]
            if _target(obj).path in seen:
                continue
            seen.add(_target(obj).path)
            gaps[module_path].extend(_gaps(obj, f"{module_path}.{name}"))
    return gaps


def test_public_api_is_described(package: griffe.Module) -> None:
    gaps = _coverage(package)
    missing = [line for lines in gaps.values() for line in lines]
    summary = ", ".join(f"{module}: {len(lines)}" for module, lines in gaps.items())
    assert not missing, f"{len(missing)} undescribed ({summary}):\n" + "\n".join(missing)


def test_gate_sees_members_parameters_and_endpoints(package: griffe.Module) -> None:
    """The gate walks what the pages show: inherited connection fields, endpoint methods, merged constructors."""
    embeddings = package["langchain.SIEEmbeddings"].final_target
    assert {"base_url", "batch_size", "model", "close"} <= set(embeddings.all_members)
    encode = package["SIEClient"].final_target.all_members["encode"]
    assert encode.is_function and "output_types" in [p.name for p in encode.parameters]
    assert "base_url" in [p.name for p in package["SIEClient"].final_target.all_members["__init__"].parameters]
    assert not any(name.startswith("invoke") for name in package["langchain.SIEChatModel"].final_target.all_members)


def test_gate_reports_each_gap() -> None:
    """An undescribed field and parameter are reported; private members and ``**kwargs`` are not."""
    code = '''
class Thing:
    """A thing."""

    size: int = 1

    def grow(self, by: int, *, twice: bool = False, **kwargs: object) -> None:
        """Grow.

        Args:
            twice: Grow twice as much.
        """

    def _hidden(self) -> None: ...
'''
    parser = griffe.Parser.google
    with griffe.temporary_visited_module(code, module_name="sie_integrations", docstring_parser=parser) as module:
        assert list(_gaps(module["Thing"], "sie_integrations.Thing")) == [
            "sie_integrations.Thing.size: no description",
            "sie_integrations.Thing.grow: parameter 'by' not in Args",
        ]
