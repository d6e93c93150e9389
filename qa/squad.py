"""Read QA data: SQuAD-layout files (both the flat ``data[].qas`` and the nested ``data[].paragraphs[]``
form) and Q&A pairs in JSON Lines (``{"id", "question", "answers", "type"}`` per line)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, Discriminator, Tag, ValidationError

from .errors import QAError
from .text import replace_surrogates


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


class _Answer(BaseModel):
    text: str
    answer_start: int = 0


class _Question(BaseModel):
    id: str | int
    question: str
    answers: list[_Answer] = []
    is_impossible: bool = False


class _Paragraph(BaseModel):
    context: str
    qas: list[_Question]


class _Document(BaseModel):
    paragraphs: list[_Paragraph]


def _layout(doc: object) -> str:
    return "nested" if isinstance(doc, dict) and "paragraphs" in doc else "flat"


class _File(BaseModel):
    """Both layouts: ``data[].paragraphs[].qas[]`` and flat ``data[].qas[]`` (a document is one paragraph)."""

    data: list[Annotated[Annotated[_Document, Tag("nested")] | Annotated[_Paragraph, Tag("flat")],
                         Discriminator(_layout)]]


def _where(loc: tuple[int | str, ...]) -> str:
    """``data[3].paragraphs[0].qas[1]`` from pydantic's error location (layout tags dropped)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part not in ("nested", "flat"):
            out += f".{part}" if out else part
    return out


def load_squad(path: str | Path) -> list[Example]:
    """All questions of a SQuAD-layout file; any malformed part raises ``QAError`` naming the file and the
    place (``data[0].qas[2].answers[0].answer_start``), so a bad file never ends in a traceback."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise QAError(f"{path}: not a readable JSON file ({type(exc).__name__}: {str(exc)[:200]})") from exc
    try:
        docs = _File.model_validate(raw).data
    except ValidationError as exc:
        first = exc.errors()[0]
        what = "should be a JSON object" if first["type"] == "model_type" else first["msg"]
        more = f" (and {exc.error_count() - 1} more problems)" if exc.error_count() > 1 else ""
        raise QAError(f"{path}: {_where(first['loc']) or 'the file'}: {what}{more}; expected SQuAD "
                      'layout {"data": [{"paragraphs": [{"context": "...", "qas": [{"id": "...", '
                      '"question": "...", "answers": [{"text": "...", "answer_start": 0}]}]}]}]}') from exc
    out = []
    for doc in docs:
        for para in doc.paragraphs if isinstance(doc, _Document) else [doc]:
            # lone surrogates (\ud800 escapes) would fail the tokenizer; replaced one for one, offsets hold
            context = replace_surrogates(para.context)
            for qa in para.qas:
                answers, starts = [], []
                if not qa.is_impossible:
                    for ans in qa.answers:
                        text = replace_surrogates(ans.text).strip()
                        start = _locate(context, text, ans.answer_start) if text else -1
                        if start >= 0 and text not in answers:
                            answers.append(text)
                            starts.append(start)
                out.append(Example(replace_surrogates(str(qa.id)), replace_surrogates(qa.question), context, answers,
                                   starts))
    if not out:
        raise QAError(f"{path}: no questions found (data[].paragraphs[].qas[] is empty)")
    return out


@dataclass
class Pair:
    """One question of a JSON Lines pairs file; ``answers`` empty means unanswerable."""

    id: str
    question: str
    answers: list[str]
    type: str = ""
    line: int = 0


def read_pairs(path: str | Path) -> list[Pair]:
    """Every question of a JSON Lines file (blank lines skipped); a malformed line raises ``QAError``
    naming the file and the line. Lone surrogates become U+FFFD (the tokenizer refuses them)."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise QAError(f"cannot read pairs file {path}: {exc}") from exc
    out = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise TypeError("a line must be a JSON object")
            question, answers = row["question"], row["answers"]
            if not isinstance(question, str) or not question.strip():
                raise TypeError("'question' must be a non-empty string")
            if not isinstance(answers, list) or not all(isinstance(a, str) and a.strip() for a in answers):
                raise TypeError("'answers' must be a list of non-empty strings")
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise QAError(f"{path}:{lineno}: malformed line ({type(exc).__name__}: {str(exc)[:200]}); expected "
                          '{"id": "...", "question": "...", "answers": ["..."]}') from exc
        fix = replace_surrogates
        out.append(Pair(fix(str(row.get("id", f"{path.stem}-{lineno}"))), fix(question), [fix(a) for a in answers],
                        str(row.get("type", "")), lineno))
    return out
