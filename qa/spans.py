"""Where an answer span starts and ends, beyond what the model marks.

The model's span boundaries follow token pieces and its training annotators; these rules make them
read as an answer: whole words without surrounding punctuation, and a count together with what it
counts when the question names it ("Berapa pabrik ...?" -> "dua pabrik", not "dua").
"""

from __future__ import annotations

import re

_STRIP = " \t\n,.;:!?\"'“”‘’«»–—-"
_WORD = re.compile(r"\w+(?:-\w+)*")  # "undang-undang" is one word
_NEXT_WORD = re.compile(r"[ \t]+(\w+(?:-\w+)*)")  # the next word on the same line
#: Indonesian number words; digits (``72``, ``1,2``, ``12/15``) are recognised by their form
_NUMBER_WORDS = frozenset(
    "nol satu dua tiga empat lima enam tujuh delapan sembilan sepuluh sebelas seratus seribu sejuta "
    "semiliar belas puluh ratus ribu juta miliar triliun puluhan belasan ratusan ribuan jutaan".split())
_DIGITS = re.compile(r"\d[\d.,/-]*")
#: money and shares are amounts, not counts: "Rp 5.000 tiket" is not an answer to "Berapa harga tiket?"
_AMOUNT = re.compile(r"Rp|US\$|\$|€|%|persen", re.IGNORECASE)
#: words that join a count to the rest of the sentence, never part of what is counted
_JOINERS = frozenset("yang di ke dari dan atau untuk pada dengan oleh dalam itu ini tersebut".split())
#: "tahun berapa", "pukul berapa": which one, not how many (the words after are the sentence's own)
_WHICH = frozenset("tahun pukul jam tanggal nomor abad ke halaman urutan peringkat lantai kelas".split())
MAX_COUNTED_WORDS = 3


def snap_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen to whole words, then drop surrounding spaces, punctuation and unbalanced brackets."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    changed = True
    while changed and start < end:
        changed = False
        span = text[start:end]
        if span[0] in _STRIP:
            start, changed = start + 1, True
        elif span[-1] in _STRIP:
            end, changed = end - 1, True
        elif span[0] == "(" and (")" not in span or (span[-1] == ")" and span.count("(") == 1)):
            start, changed = start + 1, True
        elif span[-1] == ")" and "(" not in span:
            end, changed = end - 1, True
    return start, end


def _is_number(word: str) -> bool:
    return word.lower() in _NUMBER_WORDS or bool(_DIGITS.fullmatch(word))


def with_counted_noun(text: str, start: int, end: int, counted: set[str]) -> tuple[int, int]:
    """Extend a count by the words after it that the question counts (``counted_words``).

    Annotators and readers expect "dua pabrik besar" for "Berapa pabrik besar ...?"; the model often
    stops at "dua". Only bare counts (not money or shares) grow, and only by the words that follow
    "berapa" in the question (at most three, in a row, on the same line): a number stays bare when
    the question does not name its unit.
    """
    span = text[start:end].split()
    if not counted or not span or not _is_number(span[-1].strip(_STRIP)) or _AMOUNT.search(text[start:end]):
        return start, end
    for _ in range(MAX_COUNTED_WORDS):
        nxt = _NEXT_WORD.match(text, end)
        if nxt is None or nxt.group(1).lower() not in counted:
            break
        end = nxt.end()
    return start, end


def counted_words(question: str) -> set[str]:
    """The words a "berapa" question counts: after "berapa", up to a joiner ("Berapa pabrik besar yang ...").

    Empty for other questions, and for "tahun berapa" and the like (which one, not how many).
    """
    words = [w.lower() for w in _WORD.findall(question)]
    at = words.index("berapa") if "berapa" in words else -1
    if at < 0 or (at > 0 and words[at - 1] in _WHICH):
        return set()
    out: set[str] = set()
    for w in words[at + 1 :]:
        if w in _JOINERS or len(out) == MAX_COUNTED_WORDS:
            break
        out.add(w)
    return out
