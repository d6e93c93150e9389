"""Persisting an article's index: FAISS file, passages and a manifest with checksums.

Nothing here unpickles: FAISS has its own format, passages and the manifest are JSON. A directory is
served only if its manifest matches what the caller expects and every file's SHA-256 matches the
manifest; otherwise it is rebuilt. Writes go to a temporary sibling directory that replaces the old
one by rename, so a crash never leaves a half-written index in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

from .integrity import remove, remove_stale

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load(directory: Path, expected: dict[str, Any], required: Collection[str] = ()) -> dict[str, Path] | None:
    """Return the verified files of ``directory``, or None (with the reason logged) if unusable.

    ``required`` names the files the caller reads: a manifest that lists other files, or lists
    them in another shape, means "rebuild" like a checksum mismatch.
    """
    remove_leftovers(directory.parent, directory.name)
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("index at %s has an unreadable manifest (%s); rebuilding", directory, exc)
        return None
    if not (isinstance(files, dict) and all(isinstance(d, str) for d in files.values())
            and set(required) <= set(files)):
        log.warning("index at %s has a malformed manifest (files: %.80r); rebuilding", directory, files)
        return None
    for key, value in {**expected, "format": FORMAT_VERSION}.items():
        if manifest.get(key) != value:
            log.info("index at %s is stale (%s changed); rebuilding", directory, key)
            return None
    out = {}
    for name, digest in files.items():
        path = directory / name
        if Path(name).name != name or not path.is_file() or sha256_file(path) != digest:
            log.warning("index at %s: %s is missing or corrupt; rebuilding", directory, name)
            return None
        out[name] = path
    return out


def remove_leftovers(root: Path, name: str = "*", older_than_s: float = 600.0) -> None:
    """Delete ``.<name>.tmp-*`` and ``.<name>.old-*`` entries in ``root`` that killed writers left behind.

    Only old ones: a live writer's are young. Called whenever an index is looked up, because the
    next save of the same article, which also cleans up, may never come.
    """
    remove_stale(root, [f".{name}.tmp-*", f".{name}.old-*"], older_than_s)


def save(directory: Path, manifest: dict[str, Any], writers: dict[str, Any]) -> None:
    """Write each file with ``writers[name](path)``, then the manifest, then swap the directory in."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(directory.parent, directory.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    tmp.chmod(0o755)
    try:
        for name, write in writers.items():
            write(tmp / name)
        files = {name: sha256_file(tmp / name) for name in writers}
        (tmp / MANIFEST).write_text(json.dumps({**manifest, "format": FORMAT_VERSION, "files": files}, indent=2,
                                               ensure_ascii=False), encoding="utf-8")
        for f in tmp.iterdir():
            with f.open("rb") as fh:
                os.fsync(fh.fileno())
        old = None
        if directory.exists():
            old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
            with contextlib.suppress(OSError):
                remove(old)
            directory.rename(old)
        tmp.rename(directory)
        if old is not None:
            with contextlib.suppress(OSError):  # a stale one is removed at the next lookup
                remove(old)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
