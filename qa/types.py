"""Result types of the public API."""

from __future__ import annotations

from dataclasses import dataclass, field

#: From this probability up an answer is shown as "yakin" (confident); the goal is that at least 90%
#: of such answers are right on real articles (``python eval/evaluate.py --articles DIR`` reports it).
CONFIDENT = 0.7


@dataclass(frozen=True)
class Passage:
    """A piece of the article; ``article[start:end] == text``."""

    text: str
    start: int
    end: int
    score: float = 0.0
    index: int = 0


@dataclass(frozen=True)
class Answer:
    """The reader's answer; ``text`` is None when the article does not contain one.

    ``start``/``end`` are offsets into the text that was read (the article for ``ArticleQA.ask``),
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
    def confident(self) -> bool:
        return self.text is not None and self.score >= CONFIDENT
