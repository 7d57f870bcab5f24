"""What the built sdist and wheel must hold: the license, the metadata a user reads on PyPI, the typed package,
and nothing of the repository's tests (the sdist carries no cassettes)."""

from __future__ import annotations

import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

MAX_SDIST_BYTES = 1_000_000
"""The sdist is the source and what describes it; with the cassettes it was 10.6 MB."""


def main(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    (wheel,) = dist.glob("*.whl")
    project = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"]

    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        assert archive.read(f"{info}/licenses/LICENSE") == Path("LICENSE").read_bytes(), "the wheel's LICENSE"
    assert "sie_integrations/py.typed" in names, "py.typed"
    assert not [n for n in names if n.startswith(("tests/", "cassettes/"))], "tests in the wheel"
    assert metadata["License-Expression"] == project["license"] == "Apache-2.0", metadata["License-Expression"]
    assert metadata["License-File"] == "LICENSE"
    assert metadata["Requires-Python"] == project["requires-python"]
    urls = dict(line.split(", ", 1) for line in metadata.get_all("Project-URL", []))
    assert urls == project["urls"], urls
    assert set(metadata.get_all("Provides-Extra", [])) == set(project["optional-dependencies"])
    assert metadata.get_content_type() == "text/plain" and metadata["Description-Content-Type"] == "text/markdown"

    with tarfile.open(sdist) as archive:
        members = [m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name]
    for needed in ("LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", "src/sie_integrations/__init__.py"):
        assert needed in members, f"{needed} missing from the sdist"
    strays = [m for m in members if m.startswith(("tests/", "cassettes/", "notebooks/", "benchmarks/", "docs/"))]
    assert not strays, f"the sdist carries {strays[:5]}"
    assert sdist.stat().st_size < MAX_SDIST_BYTES, f"the sdist is {sdist.stat().st_size:,} bytes"
    print(f"package: {sdist.name} ({sdist.stat().st_size:,} bytes), {wheel.name} ({wheel.stat().st_size:,} bytes): ok")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
