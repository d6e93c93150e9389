"""The Milvus backend: the same collection in Milvus, through ``pymilvus``'s ``MilvusClient``.

``uri`` is a local file (Milvus Lite, embedded, e.g. ``koleksi.db``) or a server
(``http://host:19530``: Milvus Standalone or Distributed); the client code is the same. Two Milvus
collections hold it: ``<name>_passages`` (dense vector with an HNSW index, and the stemmed terms, which
Milvus's BM25 function turns into a sparse vector for full-text search) and ``<name>_articles``
(metadata and text, in parts of at most :data:`TEXT_PART` characters).

Milvus has no transactions: an add writes the passages first and the article rows last, and only
passages whose article row exists are ever returned, so a killed add is invisible; its passages are
replaced when the article is added again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np

from ..errors import CollectionError
from ..types import ArticleInfo
from .base import DayRange, NewArticle, StoredPassage, day_number

#: The collection property that holds what the collection was made with (embedder, chunking, ...).
CONFIG_PROPERTY = "tanya_artikel.config"
T = TypeVar("T")
TEXT_PART = 16_000  # characters: within Milvus's 65,535-byte VARCHAR for any UTF-8 text
TERMS_CHARS = 16_000
ID_CHARS = 512
#: HNSW search breadth (``ef``): at least this, or k.
EF_SEARCH = 128


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _passage_id(article_id: str, i: int) -> int:
    digest = hashlib.blake2b(f"{article_id}\x00{i}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & (2**63 - 1)


def _day_filter(days: DayRange) -> str:
    since, until = days
    parts = []
    if since is not None:
        parts.append(f"day >= {int(since)}")
    if until is not None:
        parts.append(f"day > 0 and day <= {int(until)}")
    return " and ".join(parts)


def _reported(method: Callable[..., T]) -> Callable[..., T]:
    """A Milvus failure (a server that went away, a timeout) as a ``CollectionError`` naming the URI."""

    @functools.wraps(method)
    def call(self: MilvusStore, *args: Any, **kwargs: Any) -> T:
        from pymilvus import MilvusException

        try:
            return method(self, *args, **kwargs)
        except MilvusException as exc:
            raise CollectionError(f"Milvus at {self.uri} failed ({str(exc)[:300]})", "unreachable") from exc

    return call


class MilvusStore:
    """A collection in Milvus (see the module docstring)."""

    def __init__(self, uri: str, name: str = "koleksi", *, create_with: dict[str, Any] | None = None,
                 timeout: float = 10.0) -> None:
        from pymilvus import MilvusClient

        logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # its own error log repeats what we raise
        self.uri, self.name = uri, name
        self.passages_name, self.articles_name = f"{name}_passages", f"{name}_articles"
        try:
            self.client = MilvusClient(uri=uri, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - connection errors come in several types
            raise CollectionError(f"cannot reach Milvus at {uri} ({type(exc).__name__}: {str(exc)[:200]})",
                                  "unreachable") from exc
        exists = self.client.has_collection(self.passages_name)
        if create_with is not None:
            if exists:
                raise CollectionError(f"{uri} already holds the collection {name!r}: open it with Collection.open",
                                      "exists")
            self._create(create_with)
        elif not exists:
            raise CollectionError(f"{uri} holds no collection {name!r}: make one with Collection.create(..., "
                                  "backend='milvus')", "not_collection")
        for collection in (self.passages_name, self.articles_name):  # a reopened collection starts released
            self.client.load_collection(collection)
        properties = self.client.describe_collection(self.passages_name).get("properties") or {}
        try:
            self.config: dict = json.loads(properties[CONFIG_PROPERTY])
        except (KeyError, ValueError) as exc:
            raise CollectionError(f"{uri}: {self.passages_name} was not made by tanya-artikel",
                                  "not_collection") from exc

    def _create(self, config: dict[str, Any]) -> None:
        from pymilvus import DataType, Function, FunctionType

        c = self.client
        schema = c.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("article", DataType.VARCHAR, max_length=ID_CHARS)
        schema.add_field("start", DataType.INT64)
        schema.add_field("end", DataType.INT64)
        schema.add_field("day", DataType.INT32)
        # the terms are already lower-cased, stemmed and expanded: the standard analyzer only splits them
        schema.add_field("terms", DataType.VARCHAR, max_length=4 * TERMS_CHARS, enable_analyzer=True,
                         analyzer_params={"tokenizer": "standard"})
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=int(config["dim"]))
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"],
                                     output_field_names=["sparse"], params={"bm25_k1": 1.2, "bm25_b": 0.75}))
        index = c.prepare_index_params()
        index.add_index("dense", index_type="HNSW", metric_type="IP", params={"M": 16, "efConstruction": 200})
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        c.create_collection(self.passages_name, schema=schema, index_params=index, consistency_level="Strong")

        articles = c.create_schema(auto_id=False)
        articles.add_field("key", DataType.VARCHAR, is_primary=True, max_length=ID_CHARS + 16)
        articles.add_field("article", DataType.VARCHAR, max_length=ID_CHARS)
        articles.add_field("part", DataType.INT32)
        for field in ("title", "date", "url", "sha256"):
            articles.add_field(field, DataType.VARCHAR, max_length=4 * 2048)
        articles.add_field("text", DataType.VARCHAR, max_length=4 * TEXT_PART)
        articles.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs a vector field in a collection
        index = c.prepare_index_params()
        index.add_index("v", index_type="FLAT", metric_type="L2")
        c.create_collection(self.articles_name, schema=articles, index_params=index, consistency_level="Strong")
        c.alter_collection_properties(self.passages_name, properties={CONFIG_PROPERTY: json.dumps(config)})

    # -- writing --------------------------------------------------------------------------------
    @_reported
    def add(self, articles: list[NewArticle]) -> None:
        if not articles:
            return
        for a in articles:  # leftovers of a killed add of the same article
            self.client.delete(self.passages_name, filter=f"article == {_quote(a.info.id)}")
        rows = [{"id": _passage_id(a.info.id, i), "article": a.info.id, "start": s, "end": e,
                 "day": day_number(a.info.date), "terms": t[:TERMS_CHARS] or "\u2205",
                 "dense": v.astype(np.float32).tolist()}
                for a in articles for i, ((s, e), t, v) in enumerate(zip(a.spans, a.terms, a.vectors))]
        for i in range(0, len(rows), 1000):
            self.client.insert(self.passages_name, rows[i : i + 1000])
        parts = []
        for a in articles:
            info = a.info
            for p in range(max(1, -(-len(a.text) // TEXT_PART))):
                parts.append({"key": f"{info.id}#{p}", "article": info.id, "part": p, "title": info.title or "",
                              "date": info.date or "", "url": info.url or "", "sha256": a.sha256,
                              "text": a.text[p * TEXT_PART : (p + 1) * TEXT_PART], "v": [0.0, 0.0]})
        # part 0 last: it is what makes the article (and so its passages) visible
        parts.sort(key=lambda r: r["part"] == 0)
        for i in range(0, len(parts), 500):
            self.client.insert(self.articles_name, parts[i : i + 500])

    @_reported
    def remove(self, article_id: str) -> bool:
        if self.article(article_id) is None:
            return False
        self.client.delete(self.articles_name, filter=f"article == {_quote(article_id)}")
        self.client.delete(self.passages_name, filter=f"article == {_quote(article_id)}")
        return True

    # -- reading --------------------------------------------------------------------------------
    def _query(self, name: str, expr: str, fields: list[str]) -> Iterator[dict[str, Any]]:
        it = self.client.query_iterator(name, filter=expr, output_fields=fields, batch_size=1000)
        try:
            while batch := it.next():
                yield from batch
        finally:
            it.close()

    @_reported
    def find_sha256(self, sha256: str) -> str | None:
        rows = self.client.query(self.articles_name, filter=f"part == 0 and sha256 == {_quote(sha256)}",
                                 output_fields=["article"], limit=1)
        return rows[0]["article"] if rows else None

    @_reported
    def articles(self) -> list[ArticleInfo]:
        rows = self._query(self.articles_name, "part == 0", ["article", "title", "date", "url"])
        out = [ArticleInfo(r["article"], r["title"] or None, r["date"] or None, r["url"] or None) for r in rows]
        return sorted(out, key=lambda a: (day_number(a.date), a.id))

    @_reported
    def article(self, article_id: str) -> tuple[ArticleInfo, str] | None:
        rows = list(self._query(self.articles_name, f"article == {_quote(article_id)}",
                                ["part", "title", "date", "url", "text"]))
        if not any(r["part"] == 0 for r in rows):
            return None
        rows.sort(key=lambda r: r["part"])
        head = rows[0]
        info = ArticleInfo(article_id, head["title"] or None, head["date"] or None, head["url"] or None)
        return info, "".join(r["text"] for r in rows)

    def _visible(self, article_ids: set[str]) -> set[str]:
        if not article_ids:
            return set()
        expr = f"part == 0 and article in [{', '.join(_quote(a) for a in article_ids)}]"
        return {r["article"] for r in self.client.query(self.articles_name, filter=expr, output_fields=["article"],
                                                          limit=len(article_ids))}

    @_reported
    def passages(self, ids: list[int]) -> dict[int, StoredPassage]:
        if not ids:
            return {}
        rows = self.client.query(self.passages_name, filter=f"id in {[int(i) for i in ids]}",
                                 output_fields=["id", "article", "start", "end"], limit=len(ids))
        visible = self._visible({r["article"] for r in rows})
        return {r["id"]: StoredPassage(r["id"], r["article"], r["start"], r["end"])
                for r in rows if r["article"] in visible}

    def _search(self, data: Any, field: str, k: int, days: DayRange, params: dict,
                article: str | None = None) -> list[tuple[int, float]]:
        expr = " and ".join(x for x in (_day_filter(days), f"article == {_quote(article)}" if article else "") if x)
        hits = self.client.search(self.passages_name, data=[data], anns_field=field, limit=k, filter=expr,
                                  search_params=params)[0]
        return [(int(h["id"]), abs(float(h["distance"]))) for h in hits]

    @_reported
    def dense_search(self, vector: np.ndarray, k: int, days: DayRange = (None, None)) -> list[tuple[int, float]]:
        return self._search(np.asarray(vector, dtype=np.float32).tolist(), "dense", k, days,
                            {"metric_type": "IP", "params": {"ef": max(EF_SEARCH, k)}})

    @_reported
    def lexical_search(self, terms: list[str], k: int, days: DayRange = (None, None),
                       article: str | None = None) -> list[tuple[int, float]]:
        if not terms:
            return []
        return self._search(" ".join(terms), "sparse", k, days, {"metric_type": "BM25"}, article)

    @_reported
    def article_passages(self, article_id: str) -> list[StoredPassage]:
        rows = self._query(self.passages_name, f"article == {_quote(article_id)}", ["id", "start", "end"])
        return sorted((StoredPassage(r["id"], article_id, r["start"], r["end"]) for r in rows), key=lambda p: p.start)

    @_reported
    def vectors(self, ids: list[int]) -> np.ndarray:
        rows = self.client.query(self.passages_name, filter=f"id in {[int(i) for i in ids]}",
                                 output_fields=["id", "dense"], limit=len(ids))
        by_id = {r["id"]: r["dense"] for r in rows}
        return np.asarray([by_id[int(i)] for i in ids], dtype=np.float32)

    def dump(self) -> Iterator[NewArticle]:
        for info in self.articles():
            found = self.article(info.id)
            if found is None:
                continue
            rows = sorted(self._query(self.passages_name, f"article == {_quote(info.id)}",
                                      ["start", "end", "terms", "dense"]), key=lambda r: r["start"])
            sha = self.client.query(self.articles_name, filter=f"article == {_quote(info.id)} and part == 0",
                                    output_fields=["sha256"], limit=1)[0]["sha256"]
            yield NewArticle(info, found[1], sha, [(r["start"], r["end"]) for r in rows],
                             [r["terms"] for r in rows], np.asarray([r["dense"] for r in rows], dtype=np.float32))

    @_reported
    def passage_count(self) -> int:
        return int(self.client.query(self.passages_name, filter="", output_fields=["count(*)"])[0]["count(*)"])

    @_reported
    def __len__(self) -> int:
        return int(self.client.query(self.articles_name, filter="part == 0",
                                     output_fields=["count(*)"])[0]["count(*)"])

    def close(self) -> None:
        self.client.close()
