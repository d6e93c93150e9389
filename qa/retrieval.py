"""Dense (FAISS inner product on normalised vectors) and BM25 retrieval, fused by reciprocal rank."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .abbreviations import expand

#: Above this many passages an HNSW graph replaces the exact flat index (query time stays ~1 ms).
HNSW_THRESHOLD = 20_000

# Function words that carry no topic; kept short on purpose (question words matter to nobody's BM25).
STOPWORDS = frozenset("""
yang dan di ke dari ini itu dengan untuk pada adalah dalam tidak akan oleh atau juga sebagai karena
para bagi telah sudah saat ia mereka kami kita anda saya nya pun lah kah tersebut bahwa agar serta
apa siapa kapan dimana di mana mengapa kenapa bagaimana berapa manakah apakah siapakah
the a an of to in on for and or is are was were be by at with from what who when where why how which
""".split())


def tokenize(text: str, stemmer: object | None = None) -> list[str]:
    """Lower-cased word tokens without stop words; digits stay ("8/1/2025" -> "8", "1", "2025")."""
    words = [w for w in re.findall(r"\w+", text.lower()) if w not in STOPWORDS]
    if stemmer is not None:
        words = [stemmer.stem(w) for w in words]  # type: ignore[attr-defined]
    return [w for w in words if w]  # the stemmer maps non-Latin words to ""


def terms_of(text: str, stemmer: object | None = None, abbreviations: bool = False) -> list[str]:
    """BM25 terms: :func:`tokenize` of the text, with short and full forms both present if ``abbreviations``."""
    return tokenize(expand(text) if abbreviations else text, stemmer)


def make_stemmer(enabled: bool) -> object | None:
    if not enabled:
        return None
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory  # type: ignore[import-untyped]

    return StemmerFactory().create_stemmer()


class BM25Index:
    """Okapi BM25 over passages (bm25s), with Indonesian-aware tokenisation; ``abbreviations`` matches
    short and full forms (Kemenkeu / Kementerian Keuangan) both ways (:mod:`qa.abbreviations`)."""

    def __init__(self, texts: list[str], stemming: bool = False, abbreviations: bool = False) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets DEBUG on itself when imported

        self.stemmer = make_stemmer(stemming)
        self.abbreviations = abbreviations
        self.size = len(texts)
        self.bm25 = bm25s.BM25()
        corpus = [self._tokens(t) or ["\u2205"] for t in texts]
        self.bm25.index(corpus, show_progress=False)
        self.vocab = set(self.bm25.vocab_dict)

    def _tokens(self, text: str) -> list[str]:
        return terms_of(text, self.stemmer, self.abbreviations)

    def scores(self, query: str) -> np.ndarray:
        tokens = [t for t in self._tokens(query) if t in self.vocab]
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)


class DenseIndex:
    """FAISS inner-product index over L2-normalised embeddings (so scores are cosines)."""

    def __init__(self, index: Any) -> None:
        self.index = index

    @classmethod
    def build(cls, vectors: np.ndarray) -> DenseIndex:
        import faiss

        dim = vectors.shape[1]
        index: faiss.Index
        if len(vectors) > HNSW_THRESHOLD:
            index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efSearch = 128
        else:
            index = faiss.IndexFlatIP(dim)
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    @property
    def size(self) -> int:
        return int(self.index.ntotal)  # type: ignore[attr-defined]

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), min(k, self.size))  # type: ignore[attr-defined]
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]


@dataclass
class Hit:
    index: int
    score: float
    dense: float | None = None


def reciprocal_rank_fusion(rankings: list[list[int]], k: int = 60) -> list[tuple[int, float]]:
    """Fuse ranked id lists: score = sum over lists of 1 / (k + rank), rank starting at 1."""
    fused: dict[int, float] = {}
    for ranking in rankings:
        for rank, idx in enumerate(ranking, start=1):
            fused[idx] = fused.get(idx, 0.0) + 1.0 / (k + rank)
    return sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))


class HybridRetriever:
    """Dense + BM25 candidates, fused with reciprocal rank fusion; either can be used alone."""

    def __init__(self, dense: DenseIndex, bm25: BM25Index, rrf_k: int = 60) -> None:
        self.dense, self.bm25, self.rrf_k = dense, bm25, rrf_k

    def search(self, query_vector: np.ndarray, query: str, k: int, mode: str = "hybrid") -> list[Hit]:
        depth = max(4 * k, 20)
        dense_scores, dense_ids = self.dense.search(query_vector, depth)
        cosine = {int(i): float(s) for s, i in zip(dense_scores, dense_ids)}
        lexical = self.bm25.scores(query)
        lexical_ids = [int(i) for i in np.argsort(-lexical, kind="stable")[:depth] if lexical[i] > 0]
        if mode == "dense":
            return [Hit(int(i), float(s), float(s)) for s, i in zip(dense_scores[:k], dense_ids[:k])]
        if mode == "bm25":
            return [Hit(i, float(lexical[i])) for i in lexical_ids[:k]]
        fused = reciprocal_rank_fusion([list(cosine), lexical_ids], self.rrf_k)
        return [Hit(i, s, cosine.get(i)) for i, s in fused[:k]]
