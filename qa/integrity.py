"""Integrity records for cached model files, and removal of what killed writers left behind.

Why: a cached export or converted model damaged after it was written (a disk error, a stray write,
a partial copy) used to give ``None`` to every question or exit 2 on every start, forever, because
nothing compared the files with what was written. Each folder now carries ``integrity.json``: the
size and an xxh3 digest per 64 KiB block of every file, recorded when the folder is made. xxh3
hashes about 8 GB/s (SHA-256 about 1 GB/s here), so checking the graphs and tokenizer at start costs
about 30 ms instead of 0.23 s; it detects damage, not tampering (whoever can write the cache can
write the record too). The 384 MB word-embedding matrix is checked block by block the first time
one of its rows is used (:class:`CheckedMatrix`), so start-up does not read it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from .errors import ModelError

RECORD = "integrity.json"
BLOCK = 1 << 16
HASH = "xxh3_64"
log = logging.getLogger(__name__)


class DamagedError(Exception):
    """A cached folder does not match its integrity record (or has none): make it again."""


def block_digests(path: Path) -> list[str]:
    with path.open("rb") as f:
        return [xxhash.xxh3_64_hexdigest(block) for block in iter(lambda: f.read(BLOCK), b"")]


def write_record(folder: Path) -> None:
    """Record the size and block digests of every file under ``folder`` (call it last, when the folder is whole)."""
    files = {p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "blocks": block_digests(p)}
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != RECORD}
    (folder / RECORD).write_text(json.dumps({"hash": HASH, "block": BLOCK, "files": files}))


def verify(folder: Path, lazy: Collection[str] = ()) -> dict[str, Any]:
    """Compare ``folder`` with its record and return the record; raise :class:`DamagedError` if it differs.

    Files named in ``lazy`` get their size checked only; their blocks are the caller's to check on use.
    """
    try:
        record = json.loads((folder / RECORD).read_text())
        files = record["files"]
        if record["hash"] != HASH or record["block"] != BLOCK or not isinstance(files, dict):
            raise ValueError("another layout")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DamagedError(f"{folder / RECORD} is missing or unreadable ({exc})") from exc
    for name, entry in files.items():
        path = folder / name
        try:
            if path.stat().st_size != entry["size"]:
                raise DamagedError(f"{path} has {path.stat().st_size} bytes, {entry['size']} were written")
            if name not in lazy and block_digests(path) != entry["blocks"]:
                raise DamagedError(f"{path} changed since it was written")
        except (OSError, KeyError, TypeError) as exc:
            raise DamagedError(f"{path}: {exc}") from exc
    return record


def remove(path: Path) -> None:
    """Delete a file, link or directory tree (an ``index`` may have been a file that a save replaced)."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def remove_stale(root: Path, patterns: Collection[str], older_than_s: float) -> None:
    """Delete entries of ``root`` matching ``patterns`` that are older than ``older_than_s``: temporary
    folders of writers that were killed (a live writer's are younger)."""
    now = time.time()
    for pattern in patterns:
        for stale in root.glob(pattern):
            with contextlib.suppress(OSError):  # gone already, or not ours to delete
                if now - stale.lstat().st_mtime > older_than_s:
                    remove(stale)


class CheckedMatrix:
    """A memory-mapped ``.npy`` matrix whose blocks are checked against their recorded digests the
    first time one of their rows is used; a damaged file is made again through ``remake`` (once).

    Blocks are read with ``os.pread``, not through the map, so checking does not grow the process's
    resident memory beyond the rows actually used.
    """

    def __init__(self, path: Path, blocks: list[str], remake: Callable[[], tuple[Path, list[str]]]) -> None:
        self._remake = remake
        self._lock = threading.Lock()
        self._open(path, blocks)
        self._check(np.array([0]))  # the header: a changed shape would misalign every row

    def _open(self, path: Path, blocks: list[str]) -> None:
        self.path = path
        self.array: np.memmap = np.load(path, mmap_mode="r")
        self._blocks = blocks
        self._checked = np.zeros(len(blocks), dtype=bool)
        self._row = self.array.shape[1] * self.array.dtype.itemsize
        self._offset = self.array.offset

    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    def __getitem__(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids)
        start = self._offset + ids.astype(np.int64).ravel() * self._row
        self._check(np.union1d(start // BLOCK, (start + self._row - 1) // BLOCK))  # a row is shorter than a block
        return self.array[ids]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        self._check(np.arange(len(self._blocks)))
        return np.asarray(self.array, dtype=dtype)

    def _check(self, blocks: np.ndarray) -> None:
        blocks = blocks[blocks < len(self._blocks)]
        todo = blocks[~self._checked[blocks]]
        if not len(todo):
            return
        with self._lock:
            bad = self._first_bad(todo)
            if bad is not None:
                log.warning("%s is damaged (block %d differs from the record); exporting it again", self.path, bad)
                self._open(*self._remake())
                todo = np.arange(len(self._blocks))
                if (bad := self._first_bad(todo)) is not None:
                    raise ModelError(f"{self.path} is damaged again right after it was made (block {bad}): "
                                     "check the disk, or set TANYA_ARTIKEL_CACHE to a folder on another disk")

    def _first_bad(self, todo: np.ndarray) -> int | None:
        fd = os.open(self.path, os.O_RDONLY)
        try:
            for b in todo:
                if xxhash.xxh3_64_hexdigest(os.pread(fd, BLOCK, int(b) * BLOCK)) != self._blocks[b]:
                    return int(b)
                self._checked[b] = True
        finally:
            os.close(fd)
        return None
