"""What a collection keeps, and the interface its storage backends share.

A :class:`DocumentStore` stores articles with their passages, passage vectors and BM25 terms, and
answers two kinds of search (dense, lexical), each optionally limited to a range of article dates.
It knows nothing of models or tokenisation: :class:`qa.collection.Collection` embeds, stems and fuses,
so every backend is fed the same vectors and the same stemmed text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..types import ArticleInfo

#: A date range as whole numbers ``YYYYMMDD`` (inclusive ends; None: open). Undated articles are outside
#: every range that has an end.
DayRange = tuple[int | None, int | None]


@dataclass(frozen=True)
class NewArticle:
    """One article ready to store: passage spans into ``text``, one vector and one term string each."""

    info: ArticleInfo
    text: str
    sha256: str
    spans: list[tuple[int, int]]
    terms: list[str]
    vectors: np.ndarray


@dataclass(frozen=True)
class StoredPassage:
    id: int
    article_id: str
    start: int
    end: int


def day_number(date: str | None) -> int:
    """``"2025-10-21"`` -> 20251021; an undated article is 0 (before every ``since``, excluded by ``until``)."""
    return int(date.replace("-", "")) if date else 0


class DocumentStore(Protocol):
    """Storage of a collection. ``add`` is all-or-nothing: a killed add leaves the store as before."""

    #: The settings the collection was made with (embedder, chunking, ...): fixed for its lifetime.
    config: dict

    def add(self, articles: list[NewArticle]) -> None: ...

    def remove(self, article_id: str) -> bool:
        """False when there is no such article."""

    def find_sha256(self, sha256: str) -> str | None:
        """The id of the stored article with this text, if any."""

    def articles(self) -> list[ArticleInfo]: ...

    def article(self, article_id: str) -> tuple[ArticleInfo, str] | None:
        """An article and its text."""

    def passages(self, ids: list[int]) -> dict[int, StoredPassage]: ...

    def dense_search(self, vector: np.ndarray, k: int, days: DayRange = (None, None)) -> list[tuple[int, float]]:
        """Passage ids and inner products, best first."""

    def lexical_search(self, terms: list[str], k: int, days: DayRange = (None, None),
                       article: str | None = None) -> list[tuple[int, float]]:
        """Passage ids and BM25 scores (k1 1.2, b 0.75), best first; only ``article``'s if given."""

    def article_passages(self, article_id: str) -> list[StoredPassage]:
        """An article's passages in text order."""

    def vectors(self, ids: list[int]) -> np.ndarray:
        """The stored vectors of these passages, in this order."""

    def dump(self) -> Iterator[NewArticle]:
        """Every article as stored, with its vectors and terms: a copy to another store embeds nothing."""

    def passage_count(self) -> int: ...

    def __len__(self) -> int: ...

    def close(self) -> None: ...
