"""The docs' own checks: they hold code to run, every command line they show parses, and every argument table
names exactly the fields it describes, with their defaults."""

from __future__ import annotations

import enum
import importlib
import inspect

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sie_integrations.cli import build_parser
from tests.support.docs import ArgumentTable, argument_tables, cli_commands, snippets


def test_the_docs_have_snippets() -> None:
    found = snippets()
    assert len(found) >= 40
    assert all(s.code.strip() for s in found)


def test_every_documented_command_line_parses() -> None:
    commands = cli_commands()
    assert len(commands) >= 4
    parser = build_parser()
    for where, argv in commands:
        if "--help" in argv or "-h" in argv:
            continue
        try:
            parser.parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"{where}: the CLI refuses these arguments (exit {exc.code})")


# --- argument tables: checked against the fields they describe -----------------------------------

# Fields documented on another page: the connection (docs/connecting.md, checked against SIEConnection).
ELSEWHERE = ("sie_integrations._http.options.ClientOptions", "sie_integrations._adapters.connection.SIEConnection")


def _class(path: str) -> type[BaseModel]:
    module, _, name = path.rpartition(".")
    cls: type[BaseModel] = getattr(importlib.import_module(module), name)
    return cls


def _declared_by(cls: type[BaseModel], name: str) -> str:
    for klass in cls.__mro__:
        if name in inspect.get_annotations(klass):
            return f"{klass.__module__}.{klass.__qualname__}"
    return ""


def own_fields(cls: type[BaseModel], *, connection: bool) -> set[str]:
    """The fields this package declares on ``cls`` (not its framework's), with or without the connection's."""
    fields = set()
    for name in cls.model_fields:
        declared = _declared_by(cls, name)
        if declared.startswith("sie_integrations.") and (connection or declared not in ELSEWHERE):
            fields.add(name)
    return fields


def accepted(cls: type[BaseModel]) -> dict[str, str]:
    """Every name the constructor takes, to the field it sets."""
    names = {name: name for name in cls.model_fields}
    names.update({f.alias: name for name, f in cls.model_fields.items() if f.alias})
    names.update(getattr(cls, "_renames", {}))
    return names


def rendered_default(field: FieldInfo) -> str | None:
    """The default as a table shows it; None when it is described in words (from the environment, a class, or a
    sentence)."""
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
        return f"`{value!r}`" if value in ({}, []) else None
    value = field.default
    if isinstance(value, type) or (isinstance(value, str) and " " in value):
        return None
    if isinstance(value, enum.Enum):
        return f"`{type(value).__name__}.{value.name}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value!r}`"


TABLES = argument_tables()


def test_the_argument_tables_are_found() -> None:
    assert len(TABLES) >= 12
    described = {name for table in TABLES for name in table.classes}
    assert "sie_integrations._adapters.connection.SIEConnection" in described


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.where)
def test_an_argument_table_lists_every_field_with_its_default(table: ArgumentTable) -> None:
    classes = [_class(name) for name in table.classes]
    names = {name: field for cls in classes for name, field in accepted(cls).items()}
    connection = any(name.endswith(".SIEConnection") for name in table.classes)
    listed: set[str] = set()
    for row_names, default in table.rows:
        assert row_names, f"{table.where}: a row names no argument"
        unknown = [name for name in row_names if name not in names]
        assert not unknown, f"{table.where}: {unknown} are no arguments of {table.classes}"
        for name in row_names:
            listed.add(names[name])
            cls = next(c for c in classes if names[name] in c.model_fields)
            expected = rendered_default(cls.model_fields[names[name]])
            if expected is not None and (default.startswith("`") or default == "required"):
                assert default == expected, f"{table.where}: {name} defaults to {expected}, not {default}"
            elif expected is not None and expected != "`None`":
                raise AssertionError(f"{table.where}: {name} defaults to {expected}; the table says {default!r}")
    missing = set().union(*(own_fields(cls, connection=connection) for cls in classes)) - listed
    assert not missing, f"{table.where}: the table leaves out {sorted(missing)}"
