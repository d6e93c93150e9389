"""Reading articles from files and light text normalisation (pure functions)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from .errors import ArticleError, QuestionError

MAX_ARTICLE_BYTES = 10 * 1024 * 1024  # on disk (UTF-16 doubles the size of the text)
MAX_ARTICLE_CHARS = 5_000_000  # about 15,000 passages: minutes to index on 2 cores
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text", ""}
#: Site navigation, removed before extraction: trafilatura's fallback extractors would otherwise
#: return a page whose only text is its menu ("Home") as the article.
NAVIGATION_XPATHS = ["//nav", "//*[@role='navigation']", "//menu", "//footer", "//header[not(ancestor::article)]",
                     "//*[contains(concat(' ', normalize-space(@class), ' '), ' menu ')]",
                     "//*[contains(concat(' ', normalize-space(@class), ' '), ' navbar ')]",
                     "//*[@id='menu' or @id='nav' or @id='navigation']"]
#: Words of the extracted text that are not link texts: fewer than this (or than a fifth of the text)
#: and the page is a list of links (a menu, a directory listing, an index page), not an article.
MIN_PROSE_WORDS = 12
_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_surrogates(text: str) -> str:
    """Lone surrogates (from invalid UTF-8 or JSON escapes) become U+FFFD, one for one, so offsets hold.

    The tokenizer cannot encode them (``TypeError: TextInputSequence must be str``).
    """
    return _SURROGATE.sub("\ufffd", text)


def decode(data: bytes, name: str = "article") -> str:
    """Decode UTF-8 (or UTF-16 with a BOM); refuse binary data with a message saying what to do."""
    if data.startswith(b"%PDF"):
        raise ArticleError(f"{name} is a PDF file, not text: copy its text into a .txt file first", "pdf")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ArticleError(f"{name}: broken UTF-16 text ({exc})", "encoding") from exc
    if b"\x00" in data[:8192]:
        raise ArticleError(f"{name} looks like a binary file (it contains NUL bytes), not text", "binary")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(
            f"{name} is not UTF-8 text (byte {exc.start} cannot be decoded): save it as UTF-8 and try again", "encoding"
        ) from exc


def clean_article(text: str) -> str:
    """Unify line ends, drop control characters and replace lone surrogates, so offsets are stable
    across platforms and the tokenizer accepts the text."""
    text = replace_surrogates(text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    if not text.strip():
        raise ArticleError("the article is empty (no text after reading it)", "empty")
    if len(text) > MAX_ARTICLE_CHARS:
        raise ArticleError(f"the article has {len(text):,} characters; the limit is {MAX_ARTICLE_CHARS:,}: "
                           "split it into smaller articles", "too_large")
    return text


def html_to_text(html: str) -> tuple[str | None, str]:
    """Main text and title of an HTML page (boilerplate such as menus and footers removed)."""
    import trafilatura

    doc = trafilatura.bare_extraction(html, include_comments=False, include_tables=True, with_metadata=True,
                                      prune_xpath=NAVIGATION_XPATHS)
    title = getattr(doc, "title", None) if doc is not None else None
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or not text.strip():
        raise ArticleError("no main text found in the HTML page", "no_text")
    if _mostly_links(html, text):
        raise ArticleError("the page is a list of links (a menu or a directory listing), not an article", "no_text")
    return title, text


def _mostly_links(html: str, text: str) -> bool:
    """Whether the extracted text is little more than the page's link texts."""
    from collections import Counter

    import lxml.etree
    import lxml.html

    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return False
    linked = Counter(w for a in tree.iter("a") for w in a.text_content().lower().split())
    words = text.lower().split()
    prose = 0
    for w in words:
        if linked[w] > 0:
            linked[w] -= 1
        else:
            prose += 1
    return prose < max(MIN_PROSE_WORDS, len(words) // 5)


def read_article(path: str | Path) -> tuple[str | None, str]:
    """Return ``(title, text)`` of a .txt, .md or .html file."""
    path = Path(path)
    if not path.is_file():
        raise ArticleError(f"article file not found: {path}", "missing")
    size = path.stat().st_size
    if size > MAX_ARTICLE_BYTES:
        limit = MAX_ARTICLE_BYTES // 2**20
        raise ArticleError(f"{path.name} is {size / 1e6:.1f} MB; the limit is {limit} MB", "too_large")
    text = decode(path.read_bytes(), path.name)
    suffix = path.suffix.lower()
    looks_html = re.match(r"\s*<(!doctype|html)", text, re.I) is not None
    if suffix in HTML_SUFFIXES or (suffix not in TEXT_SUFFIXES and looks_html):
        title, text = html_to_text(text)
        return title, clean_article(text)
    return None, clean_article(text)


def clean_question(question: str, max_chars: int) -> str:
    """Collapse whitespace and drop control characters; a question longer than ``max_chars`` is refused
    before any of that work (a 50 MB "question" must not hold a worker for a minute)."""
    if not isinstance(question, str):
        raise QuestionError("the question must be text", "not_text")
    if len(question) > max_chars:
        raise QuestionError(f"the question is {len(question):,} characters long; the limit is {max_chars:,}",
                            "too_long")
    text = "".join(c if unicodedata.category(c) != "Cc" else " " for c in replace_surrogates(question))
    text = " ".join(text.split())
    if not text:
        raise QuestionError("the question is empty: type a question about the article", "empty")
    return text
