"""The outputs of ``sie-integrations embed``: resumable .npy and JSONL files, their progress and record files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Protocol, TextIO

import numpy as np
import numpy.typing as npt

from .embed_input import EmbedError

SIDECAR_VERSION = 3
Rows = npt.NDArray[np.float32]


# --- the progress sidecar and the record of a finished output ----------------------------


@dataclass(frozen=True)
class RunKey:
    """What decides a run's vectors: progress or an output made under another key is not reused."""

    format: str
    model: str
    query: bool
    input_path: str
    input_size: int
    input_sha256: str
    input_format: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Sidecar:
    """``OUTPUT.partial.json`` (progress) or ``OUTPUT.json`` (the record of a finished output).

    The run's key, the vector size, the rows written and, in a record, the sha256 of the output.
    """

    key: RunKey
    dims: int | None = None
    count: int = 0
    output_sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SIDECAR_VERSION,
            **asdict(self.key),
            "dims": self.dims,
            "count": self.count,
            "output_sha256": self.output_sha256,
        }

    @staticmethod
    def from_json(raw: Any) -> Sidecar:
        if not isinstance(raw, dict) or not isinstance(raw.get("version"), int):
            raise ValueError("not a progress or record file of sie-integrations embed")
        if raw["version"] not in (2, SIDECAR_VERSION):  # 2: before --options, so made with none
            raise ValueError(f"written by another version of sie-integrations (format {raw['version']})")
        named = {name: raw[name] for name in RunKey.__dataclass_fields__ if name != "options"}
        key = RunKey(**named, options=raw.get("options", {}))
        dims, count, digest = raw.get("dims"), raw.get("count", 0), raw.get("output_sha256")
        if not (dims is None or isinstance(dims, int)) or not isinstance(count, int):
            raise ValueError("bad dims or count")
        if not (digest is None or isinstance(digest, str)):
            raise ValueError("bad output_sha256")
        return Sidecar(key, dims, count, digest)


def sidecar_path(output: str) -> Path:
    return Path(output + ".partial.json")


def record_path(output: Path) -> Path:
    return output.with_name(output.name + ".json")


def load_sidecar(path: Path) -> Sidecar | None:
    if not path.exists():
        return None
    try:
        return Sidecar.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise EmbedError(f"cannot use {path}: {exc}; pass --overwrite to start over") from exc


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
        "input_format": "input format",
        "options": "--options",
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


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_record(output: Path, state: Sidecar) -> None:
    """Write ``OUTPUT.json``: the key the finished ``output`` was made with, and its sha256."""
    save_sidecar(record_path(output), Sidecar(state.key, state.dims, state.count, file_sha256(output)))


def check_finished(output: Path, key: RunKey) -> None:
    """Return when ``output`` is a finished run of this very key, as its record shows; else ``EmbedError``."""
    record_file = record_path(output)
    record = load_sidecar(record_file)
    if record is None:
        raise EmbedError(
            f"{output} exists, but there is no {record_file.name} saying which model, options and input made it "
            "(an older sie-integrations or another tool wrote it), so it is not reused; "
            "pass --overwrite to replace it"
        )
    reason = key_mismatch(record.key, key)
    if reason is not None:
        raise EmbedError(f"refusing to reuse {output}: {reason}; pass --overwrite to replace it")
    if record.output_sha256 != file_sha256(output):
        raise EmbedError(f"{output} changed since {record_file.name} was written; pass --overwrite to replace it")


# --- outputs -----------------------------------------------------------------------------


class Sink(Protocol):
    """A resumable output: ``done`` rows are already written; ``write`` appends the next ones in order."""

    done: int
    complete: bool
    """True when an earlier run of the same key finished this output (its record says so)."""
    saved_in: Path
    """The file that holds the rows written so far."""

    def write(self, ids: Sequence[Any], rows: Rows) -> None: ...

    def finish(self) -> None: ...

    def close(self) -> None: ...

    def discard(self) -> None:
        """Remove the progress files (when no row was written)."""
        ...


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
        self.saved_in = self.path
        self._file: TextIO | None = None
        self._state: Sidecar | None = None
        total = len(ids)
        if overwrite:
            for path in (self.sidecar, self.path, record_path(self.path)):
                path.unlink(missing_ok=True)
        found = load_sidecar(self.sidecar)
        if found is None and self.path.exists():
            check_finished(self.path, key)
            self.done, self.complete = total, True
            return
        count, end, last = scan_jsonl(self.path) if self.path.exists() else (0, 0, None)
        if found is not None and count == 0:
            found = None  # nothing written yet: a changed command simply starts over
        if found is not None:
            refuse_mismatch(self.sidecar, found.key, key)
            if count > total or not _last_id_matches(last, ids[count - 1] if count else None):
                raise EmbedError(
                    f"{output} does not match the input's first {min(count, total)} texts; pass --overwrite"
                )
        record_path(self.path).unlink(missing_ok=True)  # it described the output being rewritten
        self._state = Sidecar(key, found.dims if found is not None else None, count)
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
        if self._state is None:
            return  # the output was already complete
        save_record(self.path, self._state)
        self.sidecar.unlink(missing_ok=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        self.close()
        self.sidecar.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)


class NpySink:
    """Raw float32 rows in ``OUTPUT.partial`` plus the sidecar; ``finish`` assembles ``OUTPUT`` (.npy).

    An existing ``OUTPUT`` (kept by ``--overwrite``) stays until the new one replaces it.
    """

    def __init__(self, output: str, key: RunKey, total: int, *, overwrite: bool) -> None:
        self.path, self.sidecar, self.rows = Path(output), sidecar_path(output), Path(output + ".partial")
        self.saved_in = self.rows
        self._file: BinaryIO | None = None
        self._state: Sidecar | None = None
        if overwrite:
            self.sidecar.unlink(missing_ok=True)
            self.rows.unlink(missing_ok=True)
        found = load_sidecar(self.sidecar)
        if found is None and self.path.exists() and not overwrite:
            check_finished(self.path, key)
            self.done, self.complete = total, True
            return
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
        tmp = self.path.with_name(self.path.name + ".tmp")
        with tmp.open("wb") as out:
            header = {"descr": "<f4", "fortran_order": False, "shape": (self.done, self._state.dims or 0)}
            np.lib.format.write_array_header_1_0(out, header)
            if self.rows.exists():
                with self.rows.open("rb") as src:
                    shutil.copyfileobj(src, out, length=1 << 20)
        record_path(self.path).unlink(missing_ok=True)  # an output without a record is never reused
        os.replace(tmp, self.path)
        save_record(self.path, self._state)
        self.rows.unlink(missing_ok=True)
        self.sidecar.unlink(missing_ok=True)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def discard(self) -> None:
        self.close()
        self.sidecar.unlink(missing_ok=True)
        self.rows.unlink(missing_ok=True)


def _rows_kept(sidecar: Sidecar, rows: Path) -> int:
    """Rows both counted by the sidecar and fully present in the raw rows file."""
    if not sidecar.dims:
        return 0
    size = rows.stat().st_size if rows.exists() else 0
    return min(sidecar.count, size // (4 * sidecar.dims))


def open_sink(output: str, key: RunKey, ids: Sequence[Any], *, overwrite: bool) -> Sink:
    """The output of ``key.format``: reused when finished under the same key, else resumed or started."""
    if key.format == "npy":
        return NpySink(output, key, len(ids), overwrite=overwrite)
    return JsonlSink(output, key, ids, overwrite=overwrite)
