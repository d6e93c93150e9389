"""Follow-up questions: when a question refers back ("Kapan itu?"), retrieval uses the previous turn."""

from __future__ import annotations

import contextlib
import re

from .errors import QuestionError
from .text import clean_question

# Words that point back to something said before (Indonesian and English).
REFERRING = frozenset("""
itu tersebut ini dia ia beliau mereka sana situ begitu demikian tadi
it that this he she they them there those these then his her its their
""".split())
QUESTION_WORDS = frozenset("""
apa siapa kapan mana dimana mengapa kenapa bagaimana berapa apakah siapakah yang di ke dari
what who when where why how which whom whose
""".split())


def is_follow_up(question: str) -> bool:
    """Short questions, or ones with a referring word or the possessive "-nya", lean on the previous turn."""
    words = re.findall(r"\w+", question.lower())
    content = [w for w in words if w not in QUESTION_WORDS and w not in REFERRING]
    refers = any(w in REFERRING or (w.endswith("nya") and len(w) > 5) for w in words)
    return refers or len(content) <= 1


def contextual_query(question: str, previous_question: str | None, previous_answer: str | None = None) -> str | None:
    """The text that should steer retrieval for ``question``, or None when it stands on its own."""
    if not previous_question or not is_follow_up(question):
        return None
    return " ".join(x for x in (previous_question, previous_answer) if x)


def search_query(question: str, context: object, limit: int) -> str:
    """The cleaned question with its ``context`` (an earlier turn) in front, for the search only.

    The question must be usable (else ``QuestionError``); the context only steers, so it is capped at
    ``limit`` characters and dropped when it is blank or unusable, never refused.
    """
    q = clean_question(question, limit)
    if context is not None and not isinstance(context, str):
        raise QuestionError(f"context must be text (the previous question), not {type(context).__name__}",
                            "not_text")
    if context and context.strip():
        with contextlib.suppress(QuestionError):
            q = f"{clean_question(context[:limit], limit)} {q}"
    return q
