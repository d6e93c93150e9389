"""The per-article index cache (``<cache>/indexes``): bounded, least recently used out first.

Every article asked about gets an index folder; a server that takes articles from users would fill
its disk without a bound. After each use the cache keeps at most ``MAX_INDEXES`` folders and
``MAX_BYTES`` in all, evicting the folders used longest ago (the one just used always stays).
``python -m qa cache --list`` shows it, ``--clear`` empties it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from .settings import cache_dir
from .store import MANIFEST

MAX_INDEXES = 200
MAX_BYTES = 500 * 1024 * 1024


@dataclass(frozen=True)
class CachedIndex:
    path: Path
    bytes: int
    last_used: float  # seconds since the epoch


def index_root() -> Path:
    return cache_dir() / "indexes"


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def entries(root: Path | None = None) -> list[CachedIndex]:
    """Complete index folders (temporary ones of live writers are not listed), most recent first."""
    root = root or index_root()
    out = []
    for folder in root.iterdir() if root.is_dir() else []:
        manifest = folder / MANIFEST
        if folder.name.startswith(".") or not manifest.is_file():
            continue
        with contextlib.suppress(OSError):  # removed meanwhile by another process
            out.append(CachedIndex(folder, _size(folder), manifest.stat().st_mtime))
    return sorted(out, key=lambda e: -e.last_used)


def touch(folder: Path) -> None:
    """Mark an index as just used (its manifest's time is the cache's clock)."""
    with contextlib.suppress(OSError):  # a read-only cache still serves its indexes
        os.utime(folder / MANIFEST)


def prune(root: Path | None = None, keep: Path | None = None, max_indexes: int | None = None,
          max_bytes: int | None = None) -> list[Path]:
    """Evict the least recently used indexes beyond the bounds (``MAX_INDEXES``, ``MAX_BYTES`` unless
    given); returns the folders removed."""
    max_indexes = MAX_INDEXES if max_indexes is None else max_indexes
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    removed, total = [], 0
    for rank, entry in enumerate(entries(root)):
        total += entry.bytes
        if entry.path == keep or (rank < max_indexes and total <= max_bytes):
            continue
        with contextlib.suppress(OSError):  # in use elsewhere, or not ours to delete
            shutil.rmtree(entry.path)
            removed.append(entry.path)
            total -= entry.bytes
    return removed


def clear(root: Path | None = None) -> int:
    """Remove every cached index; returns how many there were. Models stay (they are not per article)."""
    found = entries(root)
    for entry in found:
        with contextlib.suppress(OSError):
            shutil.rmtree(entry.path)
    return len(found)


def describe(entry: CachedIndex) -> str:
    age_h = (time.time() - entry.last_used) / 3600
    return f"{entry.path.name}  {entry.bytes / 1e6:7.2f} MB  dipakai {age_h:6.1f} jam lalu"
