"""Follow-up questions: when a question refers back ("Kapan itu?"), retrieval uses the previous turn."""

from __future__ import annotations

import re

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
