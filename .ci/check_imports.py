"""One cell of the install matrix: what this environment must import, and what it must refuse."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

EXTRAS = sys.argv[1]  # none | langchain | llamaindex | all
FRAMEWORKS = ("langchain_core", "llama_index")


def main() -> None:
    import sie_integrations

    assert sie_integrations.__file__.startswith(sys.prefix), f"not the installed wheel: {sie_integrations.__file__}"
    leaked = [m for m in sys.modules if m.split(".")[0] in FRAMEWORKS]
    assert not leaked, f"import sie_integrations pulled in {leaked}"
    for module, extra, names in (
        ("sie_integrations.langchain", "langchain", ("SIEChatModel", "SIEEmbeddings", "SIEReranker")),
        ("sie_integrations.llama_index", "llamaindex", ("SIEChatModel", "SIEEmbeddings", "SIEExtractor")),
    ):
        wanted = EXTRAS in (extra, "all")
        try:
            adapters = importlib.import_module(module)
        except ImportError as exc:
            assert not wanted, f"{module} should import with [{EXTRAS}]: {exc}"
            assert f"pip install 'sie-integrations[{extra}]'" in str(exc), f"unclear message: {exc}"
            print(f"  {module}: refused, naming the [{extra}] extra")
        else:
            assert wanted, f"{module} imported without its extra"
            assert all(hasattr(adapters, n) for n in names)
            print(f"  {module}: imports")
    script = Path(sys.executable).with_name("sie-integrations")
    cli = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert cli.returncode == 0 and "doctor" in cli.stdout, cli.stderr
    print(f"  sie_integrations {sie_integrations.__version__} on Python {sys.version.split()[0]}: ok")


if __name__ == "__main__":
    main()
