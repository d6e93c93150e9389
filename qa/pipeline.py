"""``ArticleQA``: one article, its passages and index, and the reader, wired together."""

from __future__ import annotations

import hashlib
import json
import logging
import numbers
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cache, store
from .chunking import CHUNKER_VERSION, chunk, enclosing, split_sentences
from .conversation import search_query
from .embedder import Embedder, embedder_for
from .errors import ArticleError, QAError
from .retrieval import BM25Index, DenseIndex, HybridRetriever
from .settings import DEFAULT_ARTICLE, DEFAULT_INDEX_DIR, Settings
from .text import clean_article, clean_question, read_article
from .types import Answer, Passage

if TYPE_CHECKING:
    from .reader import Reader

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
INDEX_FILES = ("passages.json", "dense.faiss")


def _versions() -> dict[str, str]:
    import faiss
    import onnxruntime

    return {"faiss": faiss.__version__, "onnxruntime": onnxruntime.__version__}


def _passage_count(k: object) -> int:
    """``k`` as a positive whole number: a float or string would fail deep inside FAISS and BM25."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise QAError(f"k must be a whole number of passages, 1 or more (got {k!r})")
    return int(k)


def _is_span(span: object, length: int) -> bool:
    return (isinstance(span, list) and len(span) == 2 and all(type(x) is int for x in span)
            and 0 <= span[0] < span[1] <= length)


class ArticleQA:
    """Question answering over one article.

    >>> qa = ArticleQA.default()
    >>> qa.retrieve("Siapa yang menyerahkan penghargaan?", k=3)[0].text
    """

    def __init__(self, article: str, title: str | None = None, settings: Settings | None = None,
                 index_dir: Path | None = None, embedder: Embedder | None = None, reader: Reader | None = None,
                 progress: Progress | None = None) -> None:
        self.settings = settings or Settings()
        self.article = clean_article(article) if isinstance(article, str) else clean_article("")
        self.title = title
        self.embedder = embedder or embedder_for(self.settings)
        self._reader = reader
        self.sha256 = hashlib.sha256(self.article.encode("utf-8")).hexdigest()
        self.index_dir = index_dir or cache.index_root() / self.sha256[:24]
        if index_dir is None:  # the cache's index folder is ours: clear what killed writers left there
            store.remove_leftovers(self.index_dir.parent)
        self.passages, dense = self._load_or_build(progress)
        if index_dir is None:  # bounded: the least recently used articles' indexes go
            cache.touch(self.index_dir)
            cache.prune(keep=self.index_dir)
        self.retriever = HybridRetriever(dense, BM25Index([p.text for p in self.passages], self.settings.stemming,
                                                             self.settings.abbreviations),
                                         self.settings.rrf_k)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def default(cls, **settings: Any) -> ArticleQA:
        """The bundled article, with its index persisted in the project's ``index/`` directory."""
        s = Settings().with_overrides(**settings)
        # the committed index/ holds the default indexing only; other settings index into the cache
        indexing = ("embedder", "embedder_int8", "chunk_chars", "chunk_overlap")
        shipped = all(getattr(s, f) == getattr(Settings(), f) for f in indexing)
        in_checkout = DEFAULT_INDEX_DIR.parent.joinpath("pyproject.toml").is_file()
        index_dir = DEFAULT_INDEX_DIR if shipped and in_checkout else None
        return cls(DEFAULT_ARTICLE.read_text(encoding="utf-8"), title=None, settings=s, index_dir=index_dir)

    @classmethod
    def from_text(cls, text: str, title: str | None = None, *, progress: Progress | None = None,
                  **settings: Any) -> ArticleQA:
        """Any article text; ``settings`` override fields of :class:`Settings`."""
        return cls(text, title, Settings().with_overrides(**settings), progress=progress)

    @classmethod
    def from_file(cls, path: str | Path, *, progress: Progress | None = None, **settings: Any) -> ArticleQA:
        """A .txt, .md or .html file (HTML: main text and title extracted)."""
        title, text = read_article(path)
        return cls.from_text(text, title=title, progress=progress, **settings)

    @classmethod
    def from_url(cls, url: str, allow_private: bool = False, *, progress: Progress | None = None,
                 **settings: Any) -> ArticleQA:
        """A news page fetched by URL (main text and title extracted); see :mod:`qa.fetch` for the limits.

        Private, loopback and link-local addresses are refused unless ``allow_private`` (intranets, tests).
        """
        from .fetch import fetch_article

        title, text = fetch_article(url, allow_private=allow_private)
        return cls.from_text(text, title=title, progress=progress, **settings)

    # -- index --------------------------------------------------------------------------------
    def _manifest(self) -> dict[str, Any]:
        s = self.settings
        return {"article_sha256": self.sha256, "embedder": self.embedder.fingerprint,
                "chunking": {"max_chars": s.chunk_chars, "overlap": s.chunk_overlap, "version": CHUNKER_VERSION},
                "versions": _versions()}

    def _read_index(self, files: dict[str, Path]) -> tuple[list[Passage], DenseIndex] | None:
        """The stored passages and FAISS index, or None when they do not fit this article (then: rebuild).

        The checksums only prove the files are as written: a hand-edited or foreign file can still
        hold spans of the wrong shape, outside the article, or a different number of vectors.
        """
        import faiss

        try:
            spans = json.loads(files["passages.json"].read_text(encoding="utf-8"))
            index = faiss.read_index(str(files["dense.faiss"]))
        except (OSError, ValueError, RuntimeError):  # RuntimeError: FAISS cannot parse the file
            return None
        if not (isinstance(spans, list) and spans and all(_is_span(s, len(self.article)) for s in spans)):
            return None
        passages = [Passage(self.article[a:b], a, b, 0.0, i) for i, (a, b) in enumerate(spans)]
        if index.ntotal != len(passages) or index.d != self.embedder.dim or not all(p.text.strip() for p in passages):
            return None
        return passages, DenseIndex(index)

    def _load_or_build(self, progress: Progress | None) -> tuple[list[Passage], DenseIndex]:
        import faiss
        import numpy as np

        files = store.load(self.index_dir, self._manifest(), required=INDEX_FILES)
        if files is not None:
            stored = self._read_index(files)
            if stored is not None:
                return stored
            log.warning("index at %s does not match its passages; rebuilding", self.index_dir)
        spans = chunk(self.article, self.settings.chunk_chars, self.settings.chunk_overlap)
        if not spans:
            raise ArticleError("the article has no text to index", "empty")
        passages = [Passage(self.article[a:b], a, b, 0.0, i) for i, (a, b) in enumerate(spans)]
        texts = [p.text for p in passages]
        if progress is None:
            vectors = self.embedder.encode_passages(texts, progress=len(texts) > 64)
        else:  # embedded a few batches at a time, so a caller's progress display moves with the real work
            step, parts = 2 * self.embedder.batch_size, []
            for i in range(0, len(texts), step):
                progress(i / len(texts), f"Mengindeks bagian artikel: {i}/{len(texts)}")
                parts.append(self.embedder.encode_passages(texts[i : i + step]))
            vectors = np.concatenate(parts)
        self.embedder.release_memory()  # indexing took hundreds of MB that answering does not need
        dense = DenseIndex.build(vectors)
        if progress:
            progress(1.0, "Indeks selesai")
        try:
            store.save(self.index_dir, self._manifest(), {
                "passages.json": lambda p: p.write_text(json.dumps(spans), encoding="utf-8"),
                "dense.faiss": lambda p: faiss.write_index(dense.index, str(p)),
            })
        except (OSError, RuntimeError) as exc:  # a read-only or full disk costs the cache, not the answer
            # (FAISS reports a failed write, e.g. a disk that filled up mid-file, as RuntimeError)
            log.warning("could not save the index to %s (%s); continuing without it", self.index_dir, exc)
        return passages, dense

    # -- querying -----------------------------------------------------------------------------
    def retrieve(self, question: str, k: int | None = None, mode: str = "hybrid",
                 context: str | None = None) -> list[Passage]:
        """The ``k`` passages most likely to hold the answer, best first (``mode``: hybrid, dense, bm25).

        ``context`` (e.g. the previous turn of a conversation) is added to the search query only.
        """
        if mode not in ("hybrid", "dense", "bm25"):
            raise QAError(f"unknown retrieval mode {mode!r}: use hybrid, dense or bm25")
        q = search_query(question, context, self.settings.max_question_chars)
        k = self.settings.top_k if k is None else _passage_count(k)
        vector = self.embedder.encode_queries([q])[0]
        hits = self.retriever.search(vector, q, k, mode)
        return [Passage(self.passages[h.index].text, self.passages[h.index].start, self.passages[h.index].end,
                        h.score, h.index) for h in hits]

    @cached_property
    def _sentences(self) -> list[tuple[int, int]]:
        return split_sentences(self.article)  # once per article, not per answer

    def sentence_at(self, start: int, end: int) -> tuple[int, int]:
        """Offsets of the sentence(s) of the article that contain ``[start, end)``."""
        return enclosing(self._sentences, start, end)

    def sentence(self, answer: Answer) -> str:
        """The sentence(s) of the article an answer (or a declined answer's candidate) comes from."""
        return self.article[slice(*self.sentence_at(answer.start, answer.end))]

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            from .reader import reader_for

            self._reader = reader_for(self.settings, self.embedder)
        return self._reader

    def ask(self, question: str, k: int | None = None, context: str | None = None) -> Answer:
        """Answer from the article; ``Answer.text`` is None when the article does not say.

        ``context`` steers retrieval for follow-up questions (see :mod:`qa.conversation`).
        """
        k = self.settings.top_k if k is None else _passage_count(k)
        passages = self.retrieve(question, k + self.settings.top_k_more, context=context)
        q = clean_question(question, self.settings.max_question_chars)
        return self.reader.read_passages(q, self.article, passages[:k], self.settings, more=passages[k:])

