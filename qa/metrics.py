"""SQuAD v2-style exact match and F1, with a normalisation suited to Indonesian news text.

normalize_answer: lower-case; punctuation becomes a space, except ``/``, ``.``, ``,`` and ``-``
between two digits (so "8/1/2025", "1.500" and "2,5" stay whole tokens); whitespace collapsed.
Unlike the English SQuAD script, articles ("a", "an", "the") are not removed: Indonesian has none,
and removing English ones would make Indonesian words like "a" (an initial) vanish.
An empty gold list means "no answer": the prediction scores 1 only when it is also empty.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

# A token is a run of letters/digits, or digit groups joined by / . , - ("8/1/2025", "1.500", "2,5").
_TOKEN = re.compile(r"\d+(?:[/.,\-]\d+)+|[^\W_]+")


def normalize_answer(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_TOKEN.findall(text))


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = Counter(pred) & Counter(ref)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(pred), overlap / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_scores(prediction: str | None, golds: list[str]) -> tuple[float, float]:
    """(EM, F1) against the best-matching gold; ``None``/"" and ``[]`` mean no answer."""
    pred = prediction or ""
    golds = [g for g in golds if normalize_answer(g)] or [""]
    return max(exact_match(pred, g) for g in golds), max(f1_score(pred, g) for g in golds)
