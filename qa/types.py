"""Result types of the public API."""

from __future__ import annotations

from dataclasses import dataclass, field

#: From this probability up an answer is shown as "yakin" (confident); the goal is that at least 90%
#: of such answers are right on real articles (``python eval/evaluate.py --articles DIR`` reports it).
CONFIDENT = 0.7
#: A declined answer's best candidate is offered as "Mungkin: ..." (maybe) from this calibrated
#: probability up. Measured on the bundled article's pairs (eval/pairs.jsonl, November 2026): the
#: declined answerable questions had candidates at 0.03-0.34, mostly right from 0.15 up; the
#: unanswerable ones at 0.02-0.22, only 2 of 12 at or above 0.15. A lower floor mostly adds wrong
#: guesses, a higher one hides most of the right ones.
TENTATIVE_FLOOR = 0.15


@dataclass(frozen=True)
class ArticleInfo:
    """An article of a collection: its id there and what a reader needs to find it (date: ISO ``YYYY-MM-DD``)."""

    id: str
    title: str | None = None
    date: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Passage:
    """A piece of the article; ``article[start:end] == text``. From a collection, ``article`` says which."""

    text: str
    start: int
    end: int
    score: float = 0.0
    index: int = 0
    article: ArticleInfo | None = None


@dataclass(frozen=True)
class Answer:
    """The reader's answer; ``text`` is None when the article does not contain one.

    ``start``/``end`` are offsets into the text that was read (the article for ``ArticleQA.ask``, the
    answer's :attr:`article` for ``Collection.ask``),
    ``score`` is the probability in [0, 1] that the span is right.
    """

    text: str | None
    score: float
    start: int = -1
    end: int = -1
    passage: Passage | None = None
    alternatives: list[Answer] = field(default_factory=list)
    no_answer_score: float = 0.0

    @property
    def found(self) -> bool:
        return self.text is not None

    @property
    def article(self) -> ArticleInfo | None:
        """From a collection: the article the answer (or, when declined, the best passage) comes from."""
        return self.passage.article if self.passage is not None else None

    @property
    def confident(self) -> bool:
        return self.text is not None and self.score >= CONFIDENT

    @property
    def tentative(self) -> Answer | None:
        """When the reader declines: its best candidate if plausible enough to offer as "maybe"
        (probability at least ``TENTATIVE_FLOOR``), else None. The same policy in the app, the CLI,
        ``/chat`` and here."""
        if self.text is None and self.alternatives and self.alternatives[0].score >= TENTATIVE_FLOOR:
            return self.alternatives[0]
        return None
