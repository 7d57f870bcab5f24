"""The package itself: no framework imported by the base package, a typed version, a clean export list."""

from __future__ import annotations

import subprocess
import sys

import sie_integrations


def test_import_pulls_in_no_framework() -> None:
    code = (
        "import sys, sie_integrations\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in ('langchain_core', 'langchain', 'llama_index'))\n"
        "print(','.join(leaked))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_public_names_resolve() -> None:
    assert sie_integrations.__version__.count(".") == 2
    for name in sie_integrations.__all__:
        assert getattr(sie_integrations, name) is not None, name


def test_langchain_adapters_load_on_first_use() -> None:
    """``SIEEmbeddings`` alone leaves the chat model (and langchain-core's tracing machinery) unloaded."""
    code = (
        "import sys\n"
        "from sie_integrations.langchain import SIEEmbeddings\n"
        "print('sie_integrations.langchain.chat_models' in sys.modules)\n"
        "import sie_integrations.langchain as lc\n"
        "from sie_integrations.langchain import *\n"
        "print(all(n in globals() for n in lc.__all__), SIEChatModel.__name__)\n"
        "try:\n"
        "    lc.NoSuchThing\n"
        "except AttributeError as exc:\n"
        "    print('AttributeError', exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "False"
    assert lines[1] == "True SIEChatModel"
    assert lines[2].startswith("AttributeError") and "NoSuchThing" in lines[2]


def test_import_without_llama_index_names_the_extra() -> None:
    code = "import sys; sys.modules['llama_index.core'] = None\nimport sie_integrations.llama_index\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "ImportError" in result.stderr
    assert "pip install 'sie-integrations[llamaindex]'" in result.stderr


def test_import_without_langchain_names_the_extra() -> None:
    code = "import sys; sys.modules['langchain_core'] = None\nimport sie_integrations.langchain\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "pip install 'sie-integrations[langchain]'" in result.stderr
