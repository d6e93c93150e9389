"""Bad input through the API, the CLI and the app: a sensible answer or a clear message, never a crash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa import ArticleError, ArticleQA, QAError, QuestionError
from qa.metrics import normalize_answer

ROOT = Path(__file__).resolve().parent.parent

QUESTIONS = {
    "empty": "",
    "spaces": "   ",
    "tabs-newlines": "\t\r\n",
    "one-megabyte": "penghargaan " * 90_000,
    "nul-bytes": "Kapan\x00 penghargaan\x00 diserahkan?",
    "control-chars": "\x07\x1b[31mSiapa\x1b[0m Penjabat Gubernur Banten?\x08",
    "emoji": "🏆 Kapan penghargaan diserahkan? 🎉",
    "arabic-rtl": "متى تم تسليم الجائزة؟",
    "chinese": "奖项是什么时候颁发的？",
    "mixed-scripts": "Siapa 谁 Penjabat Gubernur Banten مَن?",
    "sql": "'; DROP TABLE passages; -- Siapa gubernur?",
    "html": "<b>Siapa</b> Penjabat <i>Gubernur</i> Banten?",
    "script": "<script>alert(1)</script>",
    "french": "Quand le prix a-t-il été remis ?",
    "only-punctuation": "?!?!...",
    "rtl-override": "\u202eSiapa Penjabat Gubernur Banten?",
}
BLANK = {"empty", "spaces", "tabs-newlines"}

ARTICLES: dict[str, tuple[str, bytes, str | None]] = {
    # name: (file name, bytes, expected ArticleError reason or None when it must work)
    "empty": ("a.txt", b"", "empty"),
    "whitespace": ("a.txt", b" \n\n\t ", "empty"),
    "one-word": ("a.txt", b"Banten", None),
    "only-punctuation": ("a.txt", b"!!! ... ??? ,,, ---", None),
    "too-large": ("a.txt", b"kata " * 1_100_000, "too_large"),
    "binary": ("a.txt", bytes(range(256)) * 4, "binary"),
    "latin-1": ("a.txt", "Café di Bandung buka pukul tujuh pagi.".encode("latin-1"), "encoding"),
    "utf-16": ("a.txt", "Kafe di Bandung buka pukul tujuh pagi.".encode("utf-16"), None),
    "utf-8-bom": ("a.txt", "\ufeffKafe di Bandung buka pukul tujuh pagi.".encode(), None),
    "crlf": ("a.txt", b"Kafe di Bandung.\r\nBuka pukul tujuh pagi.\r\n", None),
    "html-no-main-text": ("a.html", b"<html><head><title>x</title></head><body><nav></nav></body></html>", "no_text"),
    "pdf-as-txt": ("a.txt", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n", "pdf"),
    "html-in-txt": ("a.txt", b"<p>Kafe di <b>Bandung</b> buka pukul tujuh pagi.</p>", None),
    "markdown": ("a.md", b"# Judul\n\nKafe di **Bandung** buka pukul *tujuh* pagi.", None),
}


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_questions_api(default_qa, name):
    question = QUESTIONS[name]
    if name in BLANK:
        with pytest.raises(QuestionError):
            default_qa.ask(question)
        return
    answer = default_qa.ask(question)
    assert 0.0 <= answer.score <= 1.0
    if answer.text is not None:
        assert default_qa.article[answer.start:answer.end] == answer.text
    # and the next request is still served
    assert default_qa.ask("Siapa Penjabat Gubernur Banten?").text


def test_script_question_does_not_invent_answer(default_qa):
    assert default_qa.ask(QUESTIONS["script"]).text is None


@pytest.mark.parametrize("name", sorted(ARTICLES))
def test_articles_api(tmp_path, name):
    filename, data, reason = ARTICLES[name]
    path = tmp_path / filename
    path.write_bytes(data)
    if reason:
        with pytest.raises(ArticleError) as err:
            ArticleQA.from_file(path)
        assert err.value.reason == reason
        return
    qa = ArticleQA.from_file(path)
    answer = qa.ask("Jam berapa kafe buka?")
    if answer.text is not None:
        assert qa.article[answer.start:answer.end] == answer.text
    assert "<p>" not in qa.article or filename.endswith(".txt")


def test_questions_cli_batch():
    """All question cases through one CLI process (`ask -` reads one question per line)."""
    lines = [q.replace("\n", " ").replace("\r", " ") for q in QUESTIONS.values()] + ["Siapa Penjabat Gubernur Banten?"]
    out = subprocess.run([sys.executable, "-m", "qa", "ask", "-", "--json"], cwd=ROOT, input="\n".join(lines) + "\n",
                         capture_output=True, text=True, timeout=600)
    assert "Traceback" not in out.stderr, out.stderr[-2000:]
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) == len(lines)
    errors = [r for r in rows if "error" in r]
    assert len(errors) == len(BLANK)  # exactly the blank ones are refused, each with a message
    assert "Damenta" in (rows[-1]["text"] or "")


@pytest.mark.parametrize("name", ["empty", "binary", "latin-1", "pdf-as-txt", "html-no-main-text", "utf-16"])
def test_articles_cli(tmp_path, name):
    filename, data, reason = ARTICLES[name]
    path = tmp_path / filename
    path.write_bytes(data)
    out = subprocess.run([sys.executable, "-m", "qa", "index", "--article", str(path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert "Traceback" not in out.stderr
    if reason:
        assert out.returncode == 2 and out.stderr.startswith("error:"), out.stderr
    else:
        assert out.returncode == 0, out.stderr


def test_every_article_error_has_an_indonesian_message():
    import app

    reasons = {r for _, _, r in ARTICLES.values() if r} | {"missing"}
    assert reasons <= set(app.ARTICLE_ERRORS)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_normaliser_properties(text):
    once = normalize_answer(text)
    assert normalize_answer(once) == once  # idempotent
    assert once == once.strip() and "  " not in once
    assert normalize_answer(text.upper()) == normalize_answer(text.upper().lower())  # case does not matter


def test_unknown_setting_is_reported():
    with pytest.raises(QAError, match="unknown setting"):
        ArticleQA.from_text("Teks pendek.", topk=3)
