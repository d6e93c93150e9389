"""The embedded backend: one folder with a FAISS index and an SQLite database (articles, passages and
an FTS5 full-text index, whose ``bm25()`` is Okapi BM25).

    koleksi/collection.json     what the collection was made with (embedder, chunking, ...)
    koleksi/collection.sqlite   articles, passages, FTS5 terms, and the current FAISS generation
    koleksi/dense-<n>.faiss     passage vectors, ids = passage ids

Adds are incremental: new passages are appended to the index, nothing is embedded again. They are
crash-safe: a new index generation is written to its own file first, and one SQLite transaction then
stores the rows and switches the generation, so a killed add leaves the collection as before (files
of unfinished generations are removed at the next open). Readers in other processes notice a new
generation at their next search.

The FAISS index is chosen by size: exact inner product (``IndexFlatIP``) below :data:`FLAT_LIMIT`
passages (about 150 MB at the limit, a search in ~15 ms on 2 cores), then IVF with 8-bit scalar
quantisation (384 bytes per passage, about 400 MB at 1M passages, read memory-mapped), which keeps
search at a few milliseconds where a flat scan would take 200 ms and 1.5 GB. HNSW was not chosen: its
graph adds ~250 bytes per passage, it cannot remove vectors, and FAISS cannot memory-map it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CollectionError
from ..types import ArticleInfo
from .base import DayRange, NewArticle, StoredPassage, day_number

CONFIG = "collection.json"
DATABASE = "collection.sqlite"
FORMAT_VERSION = 1
#: From this many passages the flat index becomes IVF-SQ8 (see the module docstring).
FLAT_LIMIT = 100_000
#: Inverted lists searched per query: recall@10 against the exact index stays above 0.95 at 1M passages.
NPROBE = 32

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (id TEXT PRIMARY KEY, title TEXT, date TEXT, day INTEGER NOT NULL,
                                     url TEXT, sha256 TEXT NOT NULL UNIQUE, text TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS passages (id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, start INTEGER NOT NULL,
                                     end INTEGER NOT NULL, day INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS passages_article ON passages (article_id);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5 (terms, tokenize = 'unicode61 remove_diacritics 0');
"""


def is_local_collection(path: Path) -> bool:
    return (path / CONFIG).is_file() and (path / DATABASE).is_file()


def _fts_query(terms: list[str]) -> str:
    """Any of the terms (quoted, so no term is read as FTS5 syntax)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in dict.fromkeys(terms))


class LocalStore:
    """FAISS + SQLite in one folder (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        try:
            self.config: dict = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CollectionError(f"{folder} is not a readable collection ({exc})", "not_collection") from exc
        if not isinstance(self.config, dict) or self.config.get("format") != FORMAT_VERSION:
            raise CollectionError(f"{folder}: unknown collection format (expected {FORMAT_VERSION})", "not_collection")
        self.db = sqlite3.connect(folder / DATABASE, timeout=60, check_same_thread=False)
        self.db.executescript(_SCHEMA)
        self._generation = -1
        self._index: Any = None
        self._days = np.zeros(0, dtype=np.int32)
        self._remove_unused_generations()

    # -- lifecycle ------------------------------------------------------------------------------
    @classmethod
    def create(cls, folder: str | Path, config: dict[str, Any]) -> LocalStore:
        folder = Path(folder)
        if is_local_collection(folder):
            raise CollectionError(f"{folder} is already a collection: open it with Collection.open", "exists")
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise CollectionError(f"{folder} exists and is not an empty folder: choose a new folder for the collection",
                                  "exists")
        folder.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(folder / DATABASE).executescript(_SCHEMA)
        tmp = folder / f".{CONFIG}.tmp"
        tmp.write_text(json.dumps({**config, "format": FORMAT_VERSION}, indent=2), encoding="utf-8")
        tmp.rename(folder / CONFIG)  # the config last: a folder without it is not a collection
        return cls(folder)

    @classmethod
    def open(cls, folder: str | Path) -> LocalStore:
        folder = Path(folder)
        if not is_local_collection(folder):
            raise CollectionError(f"{folder} is not a collection (no {CONFIG} and {DATABASE} in it): make one "
                                  "with Collection.create or `python -m qa collection build`", "not_collection")
        return cls(folder)

    def close(self) -> None:
        self.db.close()
        self._index = None

    # -- the FAISS generation ------------------------------------------------------------------------
    def _stored_generation(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def _index_file(self, generation: int) -> Path:
        return self.folder / f"dense-{generation}.faiss"

    def _remove_unused_generations(self) -> None:
        """Index files of killed adds, and old generations no reader needs any more (an open mmap keeps
        its file alive on POSIX)."""
        current = self._index_file(self._stored_generation()).name
        for f in self.folder.glob("dense-*.faiss*"):
            if f.name != current:
                with contextlib.suppress(OSError):
                    f.unlink()

    def _current(self) -> Any:
        """The index of the committed generation, memory-mapped, reloaded when another add moved it on."""
        import faiss

        generation = self._stored_generation()
        if generation != self._generation:
            path = self._index_file(generation)
            self._index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY) \
                if generation else None
            if self._index is not None and hasattr(self._index, "nprobe"):
                self._index.nprobe = NPROBE
            rows = self.db.execute("SELECT id, day FROM passages").fetchall()
            days = np.zeros(max((r[0] for r in rows), default=-1) + 1, dtype=np.int32)
            for pid, day in rows:
                days[pid] = day
            self._days, self._generation = days, generation
        return self._index

    def _write_generation(self, index: Any) -> int:
        import faiss

        generation = self._stored_generation() + 1
        path = self._index_file(generation)
        tmp = path.with_name(path.name + ".tmp")
        try:
            faiss.write_index(index, str(tmp))
        except RuntimeError as exc:  # FAISS reports a full disk as RuntimeError
            tmp.unlink(missing_ok=True)
            raise CollectionError(f"cannot write the collection's index to {self.folder} ({exc})",
                                  "write_failed") from exc
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        tmp.rename(path)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (str(generation),))
        return generation

    def _writable(self) -> Any:
        import faiss

        generation = self._stored_generation()
        return faiss.read_index(str(self._index_file(generation))) if generation else None

    # -- writing --------------------------------------------------------------------------------
    def add(self, articles: list[NewArticle]) -> None:
        if not articles:
            return
        vectors = np.concatenate([a.vectors for a in articles]).astype(np.float32)
        with self._writing():
            ids = []
            for a in articles:
                info, day = a.info, day_number(a.info.date)
                self.db.execute("INSERT INTO articles VALUES (?, ?, ?, ?, ?, ?, ?)",
                                (info.id, info.title, info.date, day, info.url, a.sha256, a.text))
                for (start, end), terms in zip(a.spans, a.terms):
                    cur = self.db.execute("INSERT INTO passages (article_id, start, end, day) VALUES (?, ?, ?, ?)",
                                          (info.id, start, end, day))
                    ids.append(cur.lastrowid)
                    self.db.execute("INSERT INTO fts (rowid, terms) VALUES (?, ?)", (cur.lastrowid, terms))
            self._write_generation(_grow(self._writable(), vectors, np.asarray(ids, dtype=np.int64)))

    def remove(self, article_id: str) -> bool:
        with self._writing():
            ids = [r[0] for r in self.db.execute("SELECT id FROM passages WHERE article_id = ?", (article_id,))]
            if not self.db.execute("DELETE FROM articles WHERE id = ?", (article_id,)).rowcount:
                return False
            self.db.execute("DELETE FROM passages WHERE article_id = ?", (article_id,))
            self.db.executemany("DELETE FROM fts WHERE rowid = ?", [(i,) for i in ids])
            index = self._writable()
            if index is not None and ids:
                index.remove_ids(np.asarray(ids, dtype=np.int64))
                self._write_generation(index)
        return True

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """One transaction, one writer at a time (it sees the latest generation); on any failure the rows
        roll back and the unfinished generation's file goes."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.commit()
        except BaseException:
            self.db.rollback()
            raise
        finally:
            self._remove_unused_generations()

    # -- reading --------------------------------------------------------------------------------
    def find_sha256(self, sha256: str) -> str | None:
        row = self.db.execute("SELECT id FROM articles WHERE sha256 = ?", (sha256,)).fetchone()
        return row[0] if row else None

    def articles(self) -> list[ArticleInfo]:
        rows = self.db.execute("SELECT id, title, date, url FROM articles ORDER BY day, id").fetchall()
        return [ArticleInfo(*r) for r in rows]

    def article(self, article_id: str) -> tuple[ArticleInfo, str] | None:
        row = self.db.execute("SELECT id, title, date, url, text FROM articles WHERE id = ?",
                              (article_id,)).fetchone()
        return (ArticleInfo(*row[:4]), row[4]) if row else None

    def passages(self, ids: list[int]) -> dict[int, StoredPassage]:
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"SELECT id, article_id, start, end FROM passages WHERE id IN ({marks})", ids)
        return {r[0]: StoredPassage(*r) for r in rows}

    def dense_search(self, vector: np.ndarray, k: int, days: DayRange = (None, None)) -> list[tuple[int, float]]:
        import faiss

        index = self._current()
        if index is None or index.ntotal == 0:
            return []
        params = None
        if days != (None, None):
            since, until = days
            keep = (self._days >= (since or 0)) & (self._days <= (until or 99_999_999)) & (self._days > 0)
            if not keep.any():
                return []
            bitmap = np.packbits(keep, bitorder="little")
            params = faiss.SearchParameters()
            if hasattr(index, "nprobe"):
                params = faiss.SearchParametersIVF()
                params.nprobe = NPROBE
            params.sel = faiss.IDSelectorBitmap(len(keep), faiss.swig_ptr(bitmap))
        scores, ids = index.search(np.asarray(vector, dtype=np.float32).reshape(1, -1), k, params=params)
        return [(int(i), float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]

    def lexical_search(self, terms: list[str], k: int, days: DayRange = (None, None),
                       article: str | None = None) -> list[tuple[int, float]]:
        if not terms:
            return []
        conditions: list[str] = []
        args: list[Any] = [_fts_query(terms)]
        since, until = days
        if article is not None:  # an article's passages have consecutive ids: FTS5 reads only that range
            low, high = self.db.execute("SELECT min(id), max(id) FROM passages WHERE article_id = ?",
                                        (article,)).fetchone()
            if low is None:
                return []
            conditions.append("fts.rowid BETWEEN ? AND ?")
            args += [low, high]
        if since is not None:
            conditions.append("p.day >= ?")
            args.append(since)
        if until is not None:
            conditions.append("p.day > 0 AND p.day <= ?")
            args.append(until)
        # the join costs about a third of the search at 1M passages: only for date filters
        join = " JOIN passages p ON p.id = fts.rowid" if since is not None or until is not None else ""
        sql = f"SELECT fts.rowid, bm25(fts) AS score FROM fts{join} WHERE " + " AND ".join(["fts MATCH ?", *conditions])
        rows = self.db.execute(sql + " ORDER BY score LIMIT ?", (*args, k)).fetchall()
        return [(int(r[0]), -float(r[1])) for r in rows]  # FTS5's bm25() is negated: smaller is better

    def article_passages(self, article_id: str) -> list[StoredPassage]:
        rows = self.db.execute("SELECT id, article_id, start, end FROM passages WHERE article_id = ? ORDER BY start",
                               (article_id,)).fetchall()
        return [StoredPassage(*r) for r in rows]

    def vectors(self, ids: list[int]) -> np.ndarray:
        import faiss

        index = self._current()
        direct = faiss.DirectMap  # type: ignore[attr-defined]
        if hasattr(index, "nprobe") and index.direct_map.type == direct.NoMap:
            index.set_direct_map_type(direct.Hashtable)  # ids are not 0..n-1: a hash table (8 B each)
        return np.stack([index.reconstruct(int(i)) for i in ids])

    def dump(self) -> Iterator[NewArticle]:
        """Every article as stored, with its passages' vectors and terms (to copy a collection to another
        store, or to grow a synthetic one, without embedding anything again). IVF vectors come back
        decoded from 8 bits."""
        index = self._writable()
        if index is None:
            return
        if hasattr(index, "make_direct_map"):
            index.make_direct_map()
        for aid, title, date, url, sha, text in self.db.execute(
                "SELECT id, title, date, url, sha256, text FROM articles ORDER BY rowid").fetchall():
            rows = self.db.execute("SELECT p.id, p.start, p.end, f.terms FROM passages p JOIN fts f "
                                   "ON f.rowid = p.id WHERE p.article_id = ? ORDER BY p.id", (aid,)).fetchall()
            vectors = np.stack([index.reconstruct(int(r[0])) for r in rows])
            yield NewArticle(ArticleInfo(aid, title, date, url), text, sha, [(r[1], r[2]) for r in rows],
                             [r[3] for r in rows], vectors)

    def passage_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM passages").fetchone()[0])

    def __len__(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM articles").fetchone()[0])


def _grow(index: Any, vectors: np.ndarray, ids: np.ndarray) -> Any:
    """``index`` with ``vectors`` added; crossing :data:`FLAT_LIMIT` rebuilds it as IVF-SQ8 (from the
    stored vectors: no passage is embedded again)."""
    import faiss

    dim = vectors.shape[1]
    total = (index.ntotal if index is not None else 0) + len(vectors)
    if index is None:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if total >= FLAT_LIMIT and isinstance(index, faiss.IndexIDMap2):
        old = index.index.reconstruct_n(0, index.ntotal) if index.ntotal else np.zeros((0, dim), np.float32)
        old_ids = faiss.vector_to_array(index.id_map).astype(np.int64)
        everything = np.concatenate([old, vectors])
        nlist = max(64, int(4 * math.sqrt(total)))
        sample = everything[np.random.default_rng(0).permutation(len(everything))[: 40 * nlist]]
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                              faiss.METRIC_INNER_PRODUCT)
        index.train(sample)
        index.nprobe = NPROBE
        if len(old):
            index.add_with_ids(old, old_ids)
    index.add_with_ids(vectors, ids)
    return index
