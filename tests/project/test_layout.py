"""The shape of the code: small modules, mirror-image adapter packages, and tests that mirror the source."""

from __future__ import annotations

from tests.support.live import ROOT, TESTS

PACKAGE = ROOT / "src" / "sie_integrations"
LIMIT = 400
"""The most lines a module may have."""


def test_no_module_is_over_the_limit() -> None:
    sizes = {path.relative_to(PACKAGE): len(path.read_text().splitlines()) for path in PACKAGE.rglob("*.py")}
    assert {path: size for path, size in sizes.items() if size > LIMIT} == {}


def test_the_adapter_packages_are_mirror_images() -> None:
    """The same public module names in both (each holds the same kind of class in both)."""
    langchain, llama_index = (
        {path.name for path in (PACKAGE / name).glob("*.py") if not path.name.startswith("_")}
        for name in ("langchain", "llama_index")
    )
    assert langchain == llama_index
    assert {"chat_models.py", "llms.py", "embeddings.py", "rerankers.py", "extractors.py"} <= langchain


def test_the_tests_mirror_the_layers() -> None:
    """A folder per layer, the live tier, the project's checks; fakes and helpers in their own packages."""
    folders = {path.name for path in TESTS.iterdir() if path.is_dir() and not path.name.startswith(("_", "."))}
    layers = {"core", "http", "adapters", "langchain", "llama_index", "cli"}
    assert folders == layers | {"live", "project", "fakes", "support", "data"}
    assert not list(TESTS.glob("test_*.py"))  # every test module is in a folder
    for layer in layers:
        assert (PACKAGE / ("_" + layer if layer in ("core", "http", "adapters") else layer)).is_dir(), layer
