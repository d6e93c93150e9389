"""Sentence-aware splitting of Indonesian text into overlapping passages with exact offsets.

Every span is a pair of character offsets into the original text, so ``text[start:end]`` is always
the passage; nothing is rewritten. Sentence ends are ``.``/``!``/``?`` followed by a space and an
upper-case letter, digit or opening quote, except after abbreviations, initials and inside quotes;
line breaks always end a sentence (news paragraphs). A headline (a short first line set apart by a
blank line) is not made a passage of its own: see :func:`headline`.
"""

from __future__ import annotations

import bisect
import re
import sys

Span = tuple[int, int]
CHUNKER_VERSION = 2  # bump when the splitting rules change: persisted indexes are then rebuilt

# Lower-cased tokens that end with a period but do not end a sentence.
ABBREVIATIONS = frozenset("""
a.n an bpk br dkk dll dr dra drg drs dsb dst ds h hj hlm ir jl jln jend kab kec kel kol kompol kp
m.si m.pd m.h no nn ny prof pt rp s.e s.h s.pd s.kom s.t sdr sdri st tbk tel telp tn tsb u.p yth
mr mrs ms vs etc e.g i.e jan feb mar apr jun jul agu agt ags sep sept okt nov des
brigjen mayjen letjen jenderal kapt kapten lettu letda serka kombes akbp akp ipda iptu aiptu bripka
""".split())

_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)")
_NEXT_STARTS_SENTENCE = re.compile(r"\s+[\"'“‘(\[]?[A-Z0-9À-Þ]")
_OPEN_QUOTES = {"“": "”", '"': '"'}


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the period at ``dot`` closes an abbreviation or an initial ("R." "Dr." "S.H.")."""
    if text[dot] != ".":
        return False
    m = re.search(r"([\w.]+)$", text[max(0, dot - 40) : dot])  # a bounded look-back keeps this O(1)
    if not m:
        return False
    word = m.group(1).lower().strip(".")
    return len(word) == 1 or word in ABBREVIATIONS or ("." in word and len(word) <= 5)  # "S.H", "a.n"


class _QuoteState:
    """Whether a position sits inside an unclosed quotation opened since the last cut (same line).

    Counts are carried forward as positions grow, so a line that opens a quote and never closes it
    costs linear time, not a rescan from the last cut per candidate sentence end.
    """

    def __init__(self, text: str, start: int) -> None:
        self.text = text
        self.reset(start)

    def reset(self, start: int) -> None:
        self.pos, self.curly, self.straight = start, 0, 0

    def inside(self, pos: int) -> bool:
        seg = self.text[self.pos : pos]
        self.curly += seg.count("“") - seg.count("”")
        self.straight += seg.count('"')
        self.pos = pos
        return self.curly > 0 or self.straight % 2 == 1


def _pieces(text: str, cuts: list[int]) -> list[Span]:
    """Spans between consecutive cut positions, whitespace trimmed, empty ones dropped."""
    out = []
    for start, end in zip(cuts, cuts[1:]):
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            out.append((start, end))
    return out


def split_sentences(text: str) -> list[Span]:
    """Sentence spans (whitespace trimmed) covering all non-space text of ``text`` in order."""
    spans: list[Span] = []
    for line in re.finditer(r"[^\n]+", text):
        lo, hi = line.start(), line.end()
        cuts = [lo]
        quotes = _QuoteState(text, lo)
        for m in _END.finditer(text, lo, hi):
            if not _NEXT_STARTS_SENTENCE.match(text, m.end(), hi):
                continue
            if _is_abbreviation(text, m.start()) and m.end() - m.start() == 1:
                continue
            if quotes.inside(m.end()):
                continue
            cuts.append(m.end())
            quotes.reset(m.end())
        spans += _pieces(text, cuts + [hi])
    return spans


def enclosing(spans: list[Span], start: int, end: int) -> Span:
    """Offsets of the sentence(s) among ``spans`` (sorted, from :func:`split_sentences`) that contain
    ``[start, end)``; the span itself where no sentence holds it."""
    i = bisect.bisect_right(spans, (start, sys.maxsize)) - 1
    first = spans[i][0] if i >= 0 and spans[i][0] <= start < spans[i][1] else start
    j = bisect.bisect_left(spans, (end, -1)) - 1
    last = spans[j][1] if j >= 0 and spans[j][0] < end <= spans[j][1] else end
    return first, max(last, end)


def _split_long(text: str, span: Span, max_chars: int) -> list[Span]:
    """Break an over-long sentence at word boundaries (a last resort: quotes and clauses may split)."""
    cuts = [span[0]]
    while span[1] - cuts[-1] > max_chars:
        cut = text.rfind(" ", cuts[-1] + 1, cuts[-1] + max_chars)
        cuts.append(cut if cut > cuts[-1] else cuts[-1] + max_chars)
    return _pieces(text, cuts + [span[1]])


def _blank_line(text: str, a: int, b: int) -> bool:
    """A blank line separates documents or sections: passages never cross one."""
    return text.count("\n", a, b) >= 2


#: Longest first line taken for a headline.
HEADLINE_CHARS = 200


def headline(text: str) -> Span | None:
    """The headline: a first line of at most ``HEADLINE_CHARS`` characters, not ending a sentence, with a
    blank line and more text after it (as news is published and pasted).

    It is kept out of the passages: as a short passage of its own it matched a third of the questions
    about real articles and took a reading slot from the paragraph that answers (news dev: F1 58.3 ->
    59.4, recall@3 82.9 -> 87.1 without it; see docs/experiments.md). Its words are repeated in the body.
    """
    m = re.match(r"\s*([^\n]+?)[ \t]*\n[ \t]*\n\s*\S", text)
    if not m or len(m.group(1)) > HEADLINE_CHARS or re.search(r"[.!?…:;,]$", m.group(1)):
        return None
    return m.start(1), m.end(1)


def chunk(text: str, max_chars: int = 400, overlap: int = 1) -> list[Span]:
    """Pack whole sentences into passages of at most ``max_chars`` characters.

    Consecutive passages share ``overlap`` sentences, so an answer that needs the previous sentence
    for context is still found whole in one passage. Passages never cross a blank line, and the
    :func:`headline` is none of them.
    """
    if max_chars < 1 or overlap < 0:
        raise ValueError("max_chars must be >= 1 and overlap >= 0")
    head = headline(text)
    sentences: list[Span] = []
    for s in split_sentences(text):
        if head and s[1] <= head[1]:
            continue
        sentences += _split_long(text, s, max_chars) if s[1] - s[0] > max_chars else [s]
    passages: list[Span] = []
    i = 0
    while i < len(sentences):
        j = i + 1
        while (j < len(sentences) and sentences[j][1] - sentences[i][0] <= max_chars
               and not _blank_line(text, sentences[j - 1][1], sentences[j][0])):
            j += 1
        passages.append((sentences[i][0], sentences[j - 1][1]))
        if j >= len(sentences):
            break
        i = j if _blank_line(text, sentences[j - 1][1], sentences[j][0]) else max(i + 1, j - overlap)
    return passages
