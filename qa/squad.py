"""Read SQuAD-layout files (both the flat ``data[].qas`` and the nested ``data[].paragraphs[]`` form)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import QAError


@dataclass
class Example:
    """One question with its gold passage; ``answers`` empty means unanswerable."""

    id: str
    question: str
    context: str
    answers: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)


def _locate(context: str, text: str, hint: int) -> int:
    """Some answer offsets are off by a few characters: find the occurrence nearest the hint."""
    if context[hint : hint + len(text)] == text:
        return hint
    best = -1
    pos = context.find(text)
    while pos != -1:
        if best == -1 or abs(pos - hint) < abs(best - hint):
            best = pos
        pos = context.find(text, pos + 1)
    return best


def _paragraphs(doc: dict) -> Iterator[dict]:
    if "paragraphs" in doc:
        yield from doc["paragraphs"]
    else:
        yield doc


def load_squad(path: str | Path) -> list[Example]:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        docs = raw["data"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise QAError(f"{path}: not a readable SQuAD-format JSON file ({exc})") from exc
    out = []
    for doc in docs:
        for para in _paragraphs(doc):
            context = para["context"]
            for qa in para["qas"]:
                answers, starts = [], []
                if not qa.get("is_impossible", False):
                    for ans in qa.get("answers", []):
                        text = ans["text"].strip()
                        start = _locate(context, text, int(ans.get("answer_start", 0))) if text else -1
                        if start >= 0 and text not in answers:
                            answers.append(text)
                            starts.append(start)
                out.append(Example(str(qa["id"]), qa["question"], context, answers, starts))
    return out
