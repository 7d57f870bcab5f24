"""The outputs of ``sie-integrations embed``: resumable .npy and JSONL files and their progress sidecar."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

import numpy as np
import numpy.typing as npt

from .embed_input import EmbedError

SIDECAR_VERSION = 1
Rows = npt.NDArray[np.float32]


# --- the progress sidecar ----------------------------------------------------------------


@dataclass(frozen=True)
class RunKey:
    """What a resumable run is: a sidecar written for another model, input or mode is refused."""

    format: str
    model: str
    query: bool
    input_path: str
    input_size: int
    input_sha256: str


@dataclass(frozen=True)
class Sidecar:
    """``OUTPUT.partial.json``: the run it belongs to, the vector size, and the rows written."""

    key: RunKey
    dims: int | None = None
    count: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"version": SIDECAR_VERSION, **asdict(self.key), "dims": self.dims, "count": self.count}

    @staticmethod
    def from_json(raw: Any) -> Sidecar:
        if not isinstance(raw, dict) or raw.get("version") != SIDECAR_VERSION:
            raise ValueError("unknown sidecar version")
        key = RunKey(**{name: raw[name] for name in RunKey.__dataclass_fields__})
        dims, count = raw.get("dims"), raw.get("count", 0)
        if not (dims is None or isinstance(dims, int)) or not isinstance(count, int):
            raise ValueError("bad dims or count")
        return Sidecar(key, dims, count)


def sidecar_path(output: str) -> Path:
    return Path(output + ".partial.json")


def load_sidecar(path: Path) -> Sidecar | None:
    if not path.exists():
        return None
    try:
        return Sidecar.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise EmbedError(f"{path} is not a progress file of this tool ({exc}); remove it or pass --overwrite") from exc


def save_sidecar(path: Path, sidecar: Sidecar) -> None:
    """Write the sidecar atomically (a temporary file, then a rename)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(sidecar.to_json(), indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def key_mismatch(found: RunKey, expected: RunKey) -> str | None:
    """Why a sidecar's run differs from this one, or None when it is the same run."""
    labels = {
        "format": "output format",
        "model": "model",
        "query": "--query setting",
        "input_path": "input file",
        "input_size": "input size (bytes)",
        "input_sha256": "input content (sha256)",
    }
    for name, label in labels.items():
        was, now = getattr(found, name), getattr(expected, name)
        if was != now:
            return f"its {label} was {was!r}, this run's is {now!r}"
    return None


def refuse_mismatch(path: Path, found: RunKey, expected: RunKey) -> None:
    reason = key_mismatch(found, expected)
    if reason is not None:
        raise EmbedError(
            f"refusing to resume from {path}: {reason}; rerun the same command, or pass --overwrite to start over"
        )


# --- outputs -----------------------------------------------------------------------------


class Sink(Protocol):
    """A resumable output: ``done`` rows are already written; ``write`` appends the next ones in order."""

    done: int
    complete: bool
    """True when an earlier run finished this output (it left no progress sidecar)."""

    def write(self, ids: Sequence[Any], rows: Rows) -> None: ...

    def finish(self) -> None: ...

    def close(self) -> None: ...


def scan_jsonl(path: Path) -> tuple[int, int, str | None]:
    """Complete lines of a JSONL file: (count, bytes up to the last newline, last complete line)."""
    count, end, last = 0, 0, None
    with path.open("rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            count, end, last = count + 1, end + len(line), line
    return count, end, last.decode("utf-8") if last is not None else None


def _last_id_matches(last: str | None, expected: Any) -> bool:
    if last is None:
        return True
    try:
        record = json.loads(last)
    except ValueError:
        return False
    return isinstance(record, dict) and record.get("id") == expected


class JsonlSink:
    """``{"id": ..., "embedding": [...]}`` per line, flushed line by line; resumes after the last full line."""

    def __init__(self, output: str, key: RunKey, ids: Sequence[Any], *, overwrite: bool) -> None:
        self.path, self.sidecar = Path(output), sidecar_path(output)
        total = len(ids)
        if overwrite:
            self.sidecar.unlink(missing_ok=True)
            self.path.unlink(missing_ok=True)
        found = load_sidecar(self.sidecar)
        count, end, last = scan_jsonl(self.path) if self.path.exists() else (0, 0, None)
        if found is None and self.path.exists():
            if count == total and _last_id_matches(last, ids[-1] if ids else None):
                self.done, self._state, self._file, self.complete = total, None, None, True
                return
            raise EmbedError(
                f"{output} exists but is no interrupted run of this command (no {self.sidecar.name}); "
                "pass --overwrite to replace it"
            )
        if found is not None and count == 0:
            found = None  # nothing written yet: a changed command simply starts over
        if found is not None:
            refuse_mismatch(self.sidecar, found.key, key)
            if count > total or not _last_id_matches(last, ids[count - 1] if count else None):
                raise EmbedError(
                    f"{output} does not match the input's first {min(count, total)} texts; pass --overwrite"
                )
        self._state = found or Sidecar(key)
        save_sidecar(self.sidecar, self._state)
        with self.path.open("ab") as f:
            f.truncate(end)  # drop a partial last line
        self.done, self.complete = count, False
        self._file = self.path.open("a", encoding="utf-8")

    def write(self, ids: Sequence[Any], rows: Rows) -> None:
        if self._file is None or self._state is None:
            raise EmbedError("the output is closed")
        for item_id, row in zip(ids, rows, strict=True):
            self._file.write(json.dumps({"id": item_id, "embedding": row.tolist()}) + "\n")
            self._file.flush()
            self.done += 1
        self._state = Sidecar(self._state.key, int(rows.shape[1]), self.done)
        save_sidecar(self.sidecar, self._state)

    def finish(self) -> None:
        self.close()
        self.sidecar.unlink(missing_ok=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class NpySink:
    """Raw float32 rows in ``OUTPUT.partial`` plus the sidecar; ``finish`` assembles ``OUTPUT`` (.npy)."""

    def __init__(self, output: str, key: RunKey, total: int, *, overwrite: bool) -> None:
        self.path, self.sidecar, self.rows = Path(output), sidecar_path(output), Path(output + ".partial")
        if overwrite:
            self.sidecar.unlink(missing_ok=True)
            self.rows.unlink(missing_ok=True)
        found = load_sidecar(self.sidecar)
        self._file: BinaryIO | None = None
        if found is None and self.path.exists():
            shape = _npy_shape(self.path)
            if shape is not None and shape[0] == total:
                self.done, self._state, self.complete = total, None, True
                return
            raise EmbedError(
                f"{output} exists but is no interrupted run of this command (no {self.sidecar.name}); "
                "pass --overwrite to replace it"
            )
        kept = _rows_kept(found, self.rows) if found is not None else 0
        if found is not None and kept == 0:
            found = None  # nothing written yet: a changed command simply starts over
        if found is not None:
            refuse_mismatch(self.sidecar, found.key, key)
            if kept > total:
                raise EmbedError(f"{self.sidecar} counts {kept} rows, the input has {total} texts; pass --overwrite")
        dims = found.dims if found is not None else None
        self._state = Sidecar(key, dims, kept)
        save_sidecar(self.sidecar, self._state)
        self._file = self.rows.open("ab")
        self._file.truncate(kept * 4 * (dims or 0))  # rows written after the last sidecar update
        self.done, self.complete = kept, False

    def write(self, ids: Sequence[Any], rows: Rows) -> None:
        if self._file is None or self._state is None:
            raise EmbedError("the output is closed")
        dims = int(rows.shape[1])
        if self._state.dims is not None and dims != self._state.dims:
            raise EmbedError(
                f"the server returned {dims}-dimensional vectors after {self._state.dims}-dimensional ones"
            )
        self._file.write(np.ascontiguousarray(rows, dtype="<f4").tobytes())
        self._file.flush()
        self.done += len(rows)
        self._state = Sidecar(self._state.key, dims, self.done)
        save_sidecar(self.sidecar, self._state)

    def finish(self) -> None:
        self.close()
        if self._state is None:
            return  # the output was already complete
        dims = self._state.dims or 0
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("wb") as out:
            header = {"descr": "<f4", "fortran_order": False, "shape": (self.done, dims)}
            np.lib.format.write_array_header_1_0(out, header)
            if self.rows.exists():
                with self.rows.open("rb") as src:
                    shutil.copyfileobj(src, out, length=1 << 20)
        os.replace(tmp, self.path)
        self.rows.unlink(missing_ok=True)
        self.sidecar.unlink(missing_ok=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _rows_kept(sidecar: Sidecar, rows: Path) -> int:
    """Rows both counted by the sidecar and fully present in the raw rows file."""
    if not sidecar.dims:
        return 0
    size = rows.stat().st_size if rows.exists() else 0
    return min(sidecar.count, size // (4 * sidecar.dims))


def _npy_shape(path: Path) -> tuple[int, ...] | None:
    try:
        array = np.load(path, mmap_mode="r")
    except (OSError, ValueError):
        return None
    return tuple(array.shape) if array.ndim == 2 else None


def open_sink(output: str, key: RunKey, ids: Sequence[Any], *, overwrite: bool) -> Sink:
    """The output of ``key.format``, resumed where an interrupted run of the same command stopped."""
    if key.format == "npy":
        return NpySink(output, key, len(ids), overwrite=overwrite)
    return JsonlSink(output, key, ids, overwrite=overwrite)
