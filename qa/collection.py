"""``Collection``: many articles indexed once and asked together; every answer names its article.

    from qa import Collection
    col = Collection.create("koleksi/")              # FAISS + SQLite on local disk
    col.add_jsonl("articles.jsonl")                   # id, title, date, url, text per line
    a = col.ask("Berapa pegawai Kemenkeu yang berkurang?")
    a.text, a.article.title, a.article.date, a.article.url

The storage is a :class:`~qa.stores.base.DocumentStore`: :class:`~qa.stores.local.LocalStore` on one
machine, :class:`~qa.stores.milvus.MilvusStore` (``backend="milvus"``) past it. This class embeds,
stems, fuses dense and BM25 results by reciprocal rank as :class:`~qa.pipeline.ArticleQA` does, and reads
the best passages with the same reader.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .chunking import CHUNKER_VERSION, chunk, enclosing, headline, split_sentences
from .conversation import search_query
from .embedder import Embedder, embedder_for
from .errors import ArticleError, CollectionError, QAError
from .retrieval import make_stemmer, reciprocal_rank_fusion, terms_of
from .runtime import bf16_available
from .settings import Settings
from .stores.base import DayRange, DocumentStore, NewArticle, StoredPassage, day_number
from .text import clean_article, clean_question, read_article
from .types import Answer, ArticleInfo, Passage

if TYPE_CHECKING:
    from .reader import Reader

#: Settings a collection is indexed with: fixed when it is created.
INDEXING = ("embedder", "embedder_int8", "chunk_chars", "chunk_overlap", "stemming", "abbreviations")
#: Articles embedded together in ``add_jsonl`` (length-sorted batches across them; bounded memory).
EMBED_GROUP = 64
_MONTHS = {m: i for i, names in enumerate(
    [("jan", "januari", "january"), ("feb", "februari", "february"), ("mar", "maret", "march"),
     ("apr", "april"), ("mei", "may"), ("jun", "juni", "june"), ("jul", "juli", "july"),
     ("agu", "agt", "agustus", "aug", "august"), ("sep", "sept", "september"), ("okt", "oktober", "oct", "october"),
     ("nov", "november"), ("des", "desember", "dec", "december")], start=1) for m in names}


def parse_date(value: object) -> str | None:
    """An article date as ISO ``YYYY-MM-DD``; None stays None.

    Accepted: ``date``/``datetime`` objects, ISO 8601 (``2025-10-21``, ``2025-10-21T20:43``), numeric dates
    with slashes (``10/21/2025 20:43`` month first as in news exports; day first when the first number is
    over 12) and Indonesian or English month names (``21 Oktober 2025``, ``Selasa, 21 Okt 2025 20:43 WIB``).
    """
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise CollectionError(f"the date must be text such as 2025-10-21, not {type(value).__name__}", "bad_date")
    text = value.strip()
    try:
        return dt.datetime.fromisoformat(text).date().isoformat()
    except ValueError:
        pass
    try:
        if m := re.match(r"(\d{1,2})/(\d{1,2})/(\d{4})\b", text):
            a, b, year = map(int, m.groups())
            month, day = (b, a) if a > 12 else (a, b)
            return dt.date(year, month, day).isoformat()
        if m := re.search(r"\b(\d{1,2})\s+([A-Za-z]+)\.?\s+(\d{4})\b", text):
            named = _MONTHS.get(m.group(2).lower())
            if named:
                return dt.date(int(m.group(3)), named, int(m.group(1))).isoformat()
    except ValueError:
        pass
    raise CollectionError(f"the date {value!r} cannot be read: write it as YYYY-MM-DD (e.g. 2025-10-21)", "bad_date")


def _days(since: object, until: object) -> DayRange:
    lo, hi = parse_date(since), parse_date(until)
    return (day_number(lo) if lo else None, day_number(hi) if hi else None)


@dataclass(frozen=True)
class _Prepared:
    """An article cleaned, split and hashed, not yet embedded."""

    text: str
    info: ArticleInfo
    spans: list[tuple[int, int]]
    sha256: str


@dataclass
class AddReport:
    """What ``add_jsonl`` did: ids added, duplicates skipped (their text is already stored, under the id
    given), and ``(line number, error)`` of lines left out while the rest went in."""

    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    errors: list[tuple[int, QAError]] = field(default_factory=list)


class Collection:
    """Question answering over many articles (see the module docstring)."""

    def __init__(self, store: DocumentStore, settings: Settings | None = None, embedder: Embedder | None = None,
                 reader: Reader | None = None) -> None:
        self.store = store
        self.settings = settings or Settings()
        self.embedder = embedder or embedder_for(self.settings)
        self._reader = reader
        self._stemmer = make_stemmer(self.settings.stemming)
        stored = store.config.get("embedder_fingerprint")
        if stored is not None and stored != self.embedder.fingerprint:
            raise CollectionError(f"the collection was indexed with another version of the embedder ({stored}); "
                                  "build it again with this one", "fixed_setting")

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path | None = None, *, backend: str = "faiss", uri: str | None = None,
               name: str = "koleksi", **settings: Any) -> Collection:
        """A new, empty collection: a folder (``backend="faiss"``), or a Milvus Lite file ending in ``.db``
        or a Milvus server ``uri`` (``backend="milvus"``). ``settings`` override :class:`Settings`."""
        if "embedder_int8" not in settings:  # int8: twice fp32's rate, same recall; the bf16 engine is faster still
            settings = {**settings, "embedder_int8": not bf16_available()}
        s = Settings().with_overrides(**settings)
        embedder = embedder_for(s)
        config = {"backend": backend, **{f: getattr(s, f) for f in INDEXING}, "chunker": CHUNKER_VERSION,
                  "embedder_fingerprint": embedder.fingerprint, "dim": embedder.dim}
        if backend == "faiss":
            from .stores.local import LocalStore

            if path is None or uri is not None:
                raise CollectionError("the faiss backend needs a folder: Collection.create('koleksi/')", "bad_backend")
            return cls(LocalStore.create(path, config), s, embedder)
        if backend == "milvus":
            from .stores.milvus import MilvusStore

            return cls(MilvusStore(_milvus_uri(path, uri, new=True), name, create_with=config), s, embedder)
        raise CollectionError(f"unknown backend {backend!r}: use 'faiss' or 'milvus'", "bad_backend")

    @classmethod
    def open(cls, path: str | Path | None = None, *, uri: str | None = None, name: str = "koleksi",
             **settings: Any) -> Collection:
        """An existing collection: a folder, a Milvus Lite ``.db`` file, or a Milvus server ``uri``.

        Its indexing settings are the ones it was created with; the rest (reader, top_k, ...) can be changed.
        """
        from .stores.local import LocalStore

        store: DocumentStore
        if uri is None and path is not None and Path(path).suffix != ".db":
            store = LocalStore.open(path)
        else:
            from .stores.milvus import MilvusStore

            store = MilvusStore(_milvus_uri(path, uri, new=False), name)
        indexing = {f: store.config[f] for f in INDEXING if f in store.config}
        clash = {k: v for k, v in settings.items() if k in indexing and v != indexing[k]}
        if clash:
            store.close()
            raise CollectionError(f"{sorted(clash)} cannot change: the collection was indexed with {indexing}",
                                  "fixed_setting")
        return cls(store, Settings().with_overrides(**{**settings, **indexing}))

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Collection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- adding ---------------------------------------------------------------------------------
    def _prepare(self, text: str, info: ArticleInfo) -> _Prepared:
        text = clean_article(text)
        spans = chunk(text, self.settings.chunk_chars, self.settings.chunk_overlap)
        if not spans:
            raise ArticleError("the article has no text to index", "empty")
        if info.title is None and (head := headline(text)):
            info = replace(info, title=text[head[0] : head[1]])
        return _Prepared(text, info, spans, hashlib.sha256(text.encode("utf-8")).hexdigest())

    def _new_articles(self, items: list[_Prepared], bulk: bool = False) -> list[NewArticle]:
        """``bulk`` (``add_jsonl``): the embedder's bulk engine (:meth:`Embedder.encode_passages`), released
        after the build so that it does not slow answering."""
        texts = [it.text[a:b] for it in items for a, b in it.spans]
        vectors = self.embedder.encode_passages(texts, bulk=bulk)
        out, i = [], 0
        for it in items:
            n = len(it.spans)
            terms = [" ".join(self._terms(t)) for t in texts[i : i + n]]
            out.append(NewArticle(it.info, it.text, it.sha256, it.spans, terms, vectors[i : i + n]))
            i += n
        return out

    def _terms(self, text: str) -> list[str]:
        return terms_of(text, self._stemmer, self.settings.abbreviations)

    def _check_new(self, item: _Prepared, pending: dict[str, str] | None = None) -> str | None:
        """The id this text is already stored under, or about to be (``pending``: the SHA-256 and the id of
        each article this call adds, both mapped to the id), or None; an id taken by another text is an error."""
        pending = pending or {}
        existing = self.store.find_sha256(item.sha256) or pending.get(item.sha256)
        if existing is not None:
            return existing
        if item.info.id in pending or self.store.article(item.info.id) is not None:
            raise CollectionError(f"the id {item.info.id!r} is already used by another article: remove it first or "
                                  "give another id", "id_taken")
        return None

    def add_text(self, text: str, *, title: str | None = None, date: object = None, url: str | None = None,
                 id: str | None = None) -> str:
        """Add one article; returns its id (the stored one if the same text is already there).

        ``id`` defaults to the start of the text's SHA-256.
        """
        if not isinstance(text, str):
            raise ArticleError(f"the article must be text, not {type(text).__name__}", "not_text")
        info = ArticleInfo(_article_id(id, text), title or None, parse_date(date), url or None)
        item = self._prepare(text, info)
        existing = self._check_new(item)
        if existing is not None:
            return existing
        self.store.add(self._new_articles([item]))
        return item.info.id

    def add_file(self, path: str | Path, *, id: str | None = None, date: object = None,
                 url: str | None = None) -> str:
        """A .txt, .md or .html file; the id defaults to the file name without its suffix."""
        title, text = read_article(path)
        return self.add_text(text, title=title, date=date, url=url, id=id or Path(path).stem)

    def add_url(self, url: str, *, allow_private: bool = False, date: object = None, id: str | None = None) -> str:
        """A news page fetched by URL (see :mod:`qa.fetch`); the id defaults to the URL."""
        from .fetch import fetch_article

        title, text = fetch_article(url, allow_private=allow_private)
        return self.add_text(text, title=title, date=date, url=url, id=id or url)

    def add_jsonl(self, path: str | Path, *, progress: bool = True) -> AddReport:
        """One JSON object per line with ``text`` and optionally ``id``, ``title``, ``date``, ``url``.

        All the good lines are added in one step (a killed call adds none of them); a bad line is
        reported in :attr:`AddReport.errors` with its number and left out.
        """
        from tqdm import tqdm

        path = Path(path)
        if not path.is_file():
            raise ArticleError(f"file not found: {path}", "missing")
        report = AddReport()
        items: list[_Prepared] = []
        pending: dict[str, str] = {}  # the SHA-256 and the id of each line accepted so far -> its id
        with path.open(encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
        for number, line in enumerate(tqdm(lines, desc="membaca", disable=not progress, mininterval=5), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise CollectionError("a line must be a JSON object", "bad_line")
                text = row.get("text")
                if not isinstance(text, str):
                    raise ArticleError("no 'text' field with the article", "empty")
                raw_id = row.get("id")
                info = ArticleInfo(_article_id(None if raw_id is None else str(raw_id), text),
                                   _optional_text(row, "title"), parse_date(row.get("date")),
                                   _optional_text(row, "url"))
                item = self._prepare(text, info)
                existing = self._check_new(item, pending)
            except ValueError as exc:
                report.errors.append((number, CollectionError(f"not a JSON line ({exc})", "bad_line")))
                continue
            except QAError as exc:
                report.errors.append((number, exc))
                continue
            if existing is not None:
                report.duplicates.append(existing)
                continue
            pending[item.sha256] = pending[item.info.id] = item.info.id
            items.append(item)
        new: list[NewArticle] = []
        with tqdm(total=len(items), desc="mengindeks", unit="artikel", disable=not progress, mininterval=5) as bar:
            for i in range(0, len(items), EMBED_GROUP):
                new += self._new_articles(items[i : i + EMBED_GROUP], bulk=True)
                bar.update(len(items[i : i + EMBED_GROUP]))
        self.embedder.release_memory()
        self.store.add(new)
        report.added = [a.info.id for a in new]
        return report

    def copy_to(self, path: str | Path | None = None, *, backend: str = "faiss", uri: str | None = None,
                name: str = "koleksi", batch: int = 500, progress: bool = True) -> Collection:
        """A new collection with this one's articles, on another backend or machine (e.g. local files to a
        Milvus server), made with the same settings; the stored vectors are copied, nothing is embedded.
        Each batch is added whole, but a copy stopped halfway leaves a partial target: drop it and copy again."""
        from tqdm import tqdm

        indexing = {f: self.store.config[f] for f in INDEXING if f in self.store.config}
        target = Collection.create(path, backend=backend, uri=uri, name=name, **indexing)
        pending: list[NewArticle] = []
        for article in tqdm(self.store.dump(), total=len(self), desc="menyalin", unit="artikel",
                            disable=not progress, mininterval=5):
            pending.append(article)
            if len(pending) == batch:
                target.store.add(pending)
                pending = []
        target.store.add(pending)
        return target

    def remove(self, article_id: str) -> None:
        if not self.store.remove(str(article_id)):
            raise CollectionError(f"there is no article with the id {article_id!r} in the collection", "no_article")

    # -- reading --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.store)

    def articles(self) -> list[ArticleInfo]:
        """All articles, oldest first (undated ones first)."""
        return self.store.articles()

    def article(self, article_id: str) -> tuple[ArticleInfo, str]:
        """An article and its text."""
        found = self.store.article(str(article_id))
        if found is None:
            raise CollectionError(f"there is no article with the id {article_id!r} in the collection", "no_article")
        return found

    def sentence(self, answer: Answer) -> str:
        """The sentence(s) of its article an answer (or a declined answer's candidate) comes from."""
        if answer.article is None or answer.start < 0:
            raise QAError("this answer has no place in an article of the collection")
        text = self.article(answer.article.id)[1]
        return text[slice(*enclosing(split_sentences(text), answer.start, answer.end))]

    def search(self, query: str, k: int = 5, *, since: object = None, until: object = None,
               mode: str = "hybrid") -> list[Passage]:
        """The ``k`` best passages over all articles (or those dated ``since``..``until``), best first;
        each names its article (``passage.article``); offsets are into that article."""
        if mode not in ("hybrid", "dense", "bm25"):
            raise QAError(f"unknown retrieval mode {mode!r}: use hybrid, dense or bm25")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise QAError(f"k must be a whole number of passages, 1 or more (got {k!r})")
        q = clean_question(query, self.settings.max_question_chars)
        return self._search(q, k, _days(since, until), mode)

    def _ranked(self, q: str, k: int, days: DayRange, mode: str = "hybrid", vector: np.ndarray | None = None
                ) -> tuple[list[tuple[int, float]], dict[int, StoredPassage]]:
        """Passage ids fused by rank (dense and BM25), and the stored passages of the first ``2 * k``."""
        depth = max(4 * k, 20)
        rankings = []
        if mode != "bm25":
            vector = self.embedder.encode_queries([q])[0] if vector is None else vector
            rankings.append([i for i, _ in self.store.dense_search(vector, depth, days)])
        if mode != "dense":
            rankings.append([i for i, _ in self.store.lexical_search(self._terms(q), depth, days)])
        fused = reciprocal_rank_fusion(rankings, self.settings.rrf_k)
        return fused, self.store.passages([i for i, _ in fused[: 2 * k]])

    def _search(self, q: str, k: int, days: DayRange, mode: str = "hybrid") -> list[Passage]:
        fused, stored = self._ranked(q, k, days, mode)
        texts: dict[str, tuple[ArticleInfo, str]] = {}
        out: list[Passage] = []
        for pid, score in ((i, s) for i, s in fused if i in stored):
            if len(out) == k:
                break
            p = stored[pid]
            if p.article_id not in texts:
                found = self.store.article(p.article_id)
                if found is None:  # removed meanwhile
                    continue
                texts[p.article_id] = found
            info, text = texts[p.article_id]
            out.append(Passage(text[p.start : p.end], p.start, p.end, score, len(out), info))
        return out

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            from .reader import reader_for

            self._reader = reader_for(self.settings, self.embedder)
        return self._reader

    def ask(self, question: str, k: int | None = None, *, since: object = None, until: object = None,
            context: str | None = None) -> Answer:
        """The answer from the collection's best article for the question; ``answer.article`` names it.

        The best article is the one whose passage the search ranks first; its ``k`` best passages are
        then read together, as ``ArticleQA`` reads one article (news dev across 888 articles: F1 59.6
        reading the best 3 passages of any articles, 64.1 reading the best article's; docs/experiments.md).
        ``context`` (the previous question) steers the search only, as in ``ArticleQA.ask``.
        """
        q = clean_question(question, self.settings.max_question_chars)
        query = search_query(q, context, self.settings.max_question_chars)
        vector = self.embedder.encode_queries([query])[0]
        fused, stored = self._ranked(query, 1, _days(since, until), vector=vector)
        best = next((stored[i].article_id for i, _ in fused if i in stored), None)
        k = k or self.settings.top_k
        passages = self._within(best, query, vector, k + self.settings.top_k_more) if best is not None else []
        return read_across(self.reader, q, passages, self.settings, first=k)

    def _within(self, article_id: str, query: str, vector: np.ndarray, k: int) -> list[Passage]:
        """The ``k`` passages of one article that best match the query (dense and BM25, fused by rank)."""
        stored = self.store.article_passages(article_id)
        found = self.store.article(article_id)
        if not stored or found is None:  # removed meanwhile
            return []
        cosine = self.store.vectors([p.id for p in stored]) @ vector
        dense = [stored[i].id for i in np.argsort(-cosine, kind="stable")]
        lexical = [i for i, _ in self.store.lexical_search(self._terms(query), len(stored), article=article_id)]
        by_id = {p.id: p for p in stored}
        text = found[1]
        return [Passage(text[by_id[i].start : by_id[i].end], by_id[i].start, by_id[i].end, score, rank, found[0])
                for rank, (i, score) in enumerate(reciprocal_rank_fusion([dense, lexical], self.settings.rrf_k)[:k])]


def read_across(reader: Reader, question: str, passages: list[Passage], settings: Settings,
                first: int | None = None) -> Answer:
    """Read passages of different articles as one text, then give every offset back in its own article.

    Only the ``first`` passages are read unless they give no answer (``Reader.read_passages``'s ``more``).
    """
    joined, placed = "", []
    for i, p in enumerate(passages):
        placed.append(Passage(p.text, len(joined), len(joined) + len(p.text), p.score, i))
        joined += p.text + "\n\n"
    first = len(placed) if first is None else first
    answer = reader.read_passages(question, joined, placed[:first], settings, more=placed[first:])

    def back(a: Answer) -> Answer:
        if a.passage is None:
            return a
        original = passages[a.passage.index]
        shift = original.start - a.passage.start
        start, end = (a.start + shift, a.end + shift) if a.start >= 0 else (a.start, a.end)
        return replace(a, start=start, end=end, passage=original, alternatives=[back(x) for x in a.alternatives])

    return back(answer)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _article_id(given: str | None, text: str) -> str:
    if given is None:
        return _sha256(text if isinstance(text, str) else "")[:16]
    given = str(given).strip()
    if not given or len(given) > 500:
        raise CollectionError("an article id must be 1 to 500 characters", "bad_line")
    return given


def _optional_text(row: dict, key: str) -> str | None:
    value = row.get(key)
    if value is not None and not isinstance(value, str):
        raise CollectionError(f"'{key}' must be text", "bad_line")
    return value or None


def _milvus_uri(path: str | Path | None, uri: str | None, new: bool) -> str:
    if uri is not None:
        if path is not None:
            raise CollectionError("give either a Milvus Lite file or a server uri, not both", "bad_backend")
        return uri
    if path is None:
        raise CollectionError("the milvus backend needs a Milvus Lite file (koleksi.db) or uri='http://host:19530'",
                              "bad_backend")
    p = Path(path)
    if p.suffix != ".db":
        raise CollectionError(f"{p} is not a collection folder, and a Milvus Lite file name must end in .db",
                              "bad_backend")
    if not new and not p.exists():
        raise CollectionError(f"{p} is not a collection (no such folder or Milvus Lite file)", "not_collection")
    return str(p)
