"""Validation in the condition the reader is used in: several passages of one news article read together.

FacQA valid passages (de-tokenised, as news is pasted) are grouped into pseudo-articles of 8-12
passages, one passage per line like a news report. Each question is asked of its own pseudo-article
(answerable) and of the same pseudo-article without its passage (unanswerable, kept only when no gold
answer is left anywhere in that text). Retrieval then reading runs through the real ``ArticleQA``.
Only validation files are read.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from ..metrics import normalize_answer
from ..squad import Example, load_squad
from .mix import detokenized

NEWS_VALID = "facqa_valid.json"
#: Gold-passage validation files (the reader alone).
GOLD_VALID = ("idk_mrc_valid.json", "tydiqa_id_valid.json", NEWS_VALID)


@dataclass
class PseudoArticle:
    """One article text and the questions asked of it (``answers`` empty: not in this text)."""

    text: str
    questions: list[Example] = field(default_factory=list)


def pseudo_articles(data_dir: Path, seed: int = 11, sizes: tuple[int, int] = (8, 12)) -> list[PseudoArticle]:
    examples = [detokenized(ex) for ex in load_squad(data_dir / NEWS_VALID)]
    contexts = list(dict.fromkeys(ex.context for ex in examples))
    rng = random.Random(seed)
    rng.shuffle(contexts)
    groups: list[list[str]] = []
    while contexts:
        n = rng.randint(*sizes)
        groups.append(contexts[:n])
        contexts = contexts[n:]
    out: list[PseudoArticle] = []
    for group in groups:
        whole = PseudoArticle("\n".join(group))
        without: dict[str, PseudoArticle] = {}
        for ex in (ex for ex in examples if ex.context in group):
            whole.questions.append(ex)
            rest = "\n".join(c for c in group if c != ex.context)
            if any(normalize_answer(a) in normalize_answer(rest) for a in ex.answers):
                continue
            article = without.setdefault(ex.context, PseudoArticle(rest))
            article.questions.append(Example(f"{ex.id}-removed", ex.question, rest))
        out += [whole, *without.values()]
    return out
