"""Bad input through the API, the CLI and the app: a sensible answer or a clear message, never a crash."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa import ArticleError, ArticleQA, QAError, QuestionError, Settings
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
TOO_LONG = {"one-megabyte"}  # refused before any work: longer than Settings.max_question_chars
# Not encodable as UTF-8 (invalid UTF-8 decoded with surrogateescape, a \ud800 escape in JSON), so
# through the API only: a process boundary cannot carry them as text.
LONE_SURROGATES = {
    "lone-high-surrogate": "Siapa \ud800 Penjabat Gubernur Banten?",
    "escaped-invalid-utf8": "Siapa Penjabat Gubernur Banten\udcff?",
    "split-surrogate-pair": "\ud83c\udfc6 Kapan penghargaan diserahkan?",
}

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
    "html-only-navigation": ("a.html", b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "no_text"),
    "html-only-menus": ("a.html", b"<html><head><title>x</title></head><body><header><a href='/'>Home</a></header>"
                        b"<div role='navigation'><a href='/b'>Berita</a></div><footer>(c) 2025</footer></body></html>",
                        "no_text"),
    "pdf-as-txt": ("a.txt", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n", "pdf"),
    "html-in-txt": ("a.txt", b"<p>Kafe di <b>Bandung</b> buka pukul tujuh pagi.</p>", None),
    "markdown": ("a.md", b"# Judul\n\nKafe di **Bandung** buka pukul *tujuh* pagi.", None),
}

_CONTEXT = "Ibu kota Jawa Barat adalah Bandung."


def _squad(**question: object) -> dict:
    qa = {"id": "q1", "question": "Apa ibu kota Jawa Barat?", "answers": [{"text": "Bandung", "answer_start": 27}]}
    return {"data": [{"paragraphs": [{"context": _CONTEXT, "qas": [{**qa, **question}]}]}]}


SQUAD_FILES: dict[str, tuple[object, str | None]] = {
    # name: (file content, expected place named in the error, or None when it must load)
    "data-string": ({"data": "abc"}, "data"),
    "data-empty": ({"data": []}, "no questions"),
    "data-object": ({"data": {}}, "data"),
    "no-data": ({"version": "1.1"}, "data"),
    "top-level-list": ([1, 2], "the file"),
    "document-string": ({"data": ["abc"]}, "data[0]"),
    "paragraphs-null": ({"data": [{"paragraphs": None}]}, "data[0].paragraphs"),
    "no-qas": ({"data": [{"paragraphs": [{"context": _CONTEXT}]}]}, "data[0].paragraphs[0].qas"),
    "no-qas-flat": ({"data": [{"context": _CONTEXT}]}, "data[0].qas"),
    "no-context": ({"data": [{"paragraphs": [{"qas": []}]}]}, "data[0].paragraphs[0].context"),
    "no-id": ({"data": [{"paragraphs": [{"context": _CONTEXT, "qas": [{"question": "Q?"}]}]}]}, ".qas[0].id"),
    "question-number": (_squad(question=5), ".qas[0].question"),
    "answers-object": (_squad(answers={}), ".qas[0].answers"),
    "answer-start-not-a-number": (_squad(answers=[{"text": "Bandung", "answer_start": "abc"}]), "answer_start"),
    "answer-without-text": (_squad(answers=[{"answer_start": 27}]), ".answers[0].text"),
    "answer-text-null": (_squad(answers=[{"text": None, "answer_start": 27}]), ".answers[0].text"),
    "lone-surrogates": (_squad(question="Apa \ud800?", answers=[{"text": "Band\udcffung", "answer_start": 0}]), None),
    "flat-layout": ({"data": [{"context": _CONTEXT, "qas": _squad()["data"][0]["paragraphs"][0]["qas"]}]}, None),
}


@pytest.mark.parametrize("name", sorted(SQUAD_FILES))
def test_squad_files(tmp_path, name):
    from qa.squad import load_squad

    content, where = SQUAD_FILES[name]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    if where is None:
        examples = load_squad(path)
        assert examples and all("\ud800" not in ex.question for ex in examples)
        return
    with pytest.raises(QAError) as err:
        load_squad(path)
    assert str(err.value).startswith(f"{path}: ") and where in str(err.value), err.value


def test_squad_file_errors_in_the_evaluation_script(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(SQUAD_FILES["answer-start-not-a-number"][0]), encoding="utf-8")
    out = subprocess.run([sys.executable, "eval/evaluate.py", "--squad", str(path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert out.stderr.startswith(f"error: {path}: data[0].paragraphs[0].qas[0].answers[0].answer_start: ")


def test_pairs_lines_with_lone_surrogates_are_evaluated(tmp_path):
    pairs, report = tmp_path / "pairs.jsonl", tmp_path / "report.json"
    pairs.write_text('{"id": "a\\udcff", "question": "Siapa \\ud800 Gubernur Banten?", "answers": ["A Damenta"]}\n'
                     '{"id": "b", "question": "Kapan \\udcff?", "answers": ["Rabu\\ud800"]}\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "eval/evaluate.py", "--pairs", str(pairs), "--json", str(report),
                          "--markdown", str(tmp_path / "report.md")], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-2000:]
    assert json.loads(report.read_text(encoding="utf-8"))["n"] == 2


def _without(key: str) -> bytes:
    from qa.reader import META
    from qa.settings import DEFAULT_READER

    meta = json.loads((DEFAULT_READER / META).read_text())
    meta.pop(key)
    return json.dumps(meta).encode()


def _with(**fields: object) -> bytes:
    from qa.reader import META
    from qa.settings import DEFAULT_READER

    return json.dumps({**json.loads((DEFAULT_READER / META).read_text()), **fields}).encode()


READER_META: dict[str, bytes | None] = {  # reader.json content; None: deleted
    "deleted": None,
    "not-json": b"{not json",
    "not-utf8": b"\xff\xfe\x00{",
    "a-list": b"[]",
    "no-sha256": _without("sha256"),
    "no-calibration": _without("calibration"),
    "no-threshold": _without("threshold"),
    "threshold-string": _with(threshold="0.4"),
    "threshold-above-one": _with(threshold=4),
    "calibration-null": _with(calibration=None),
    "scale-string": _with(calibration={"scale": "1", "bias": 0.0}),
    "sha256-number": _with(sha256=12),
    "fp32-layers-string": _with(int8_fp32_layers="0,4,5"),
    "fp32-layers-negative": _with(int8_fp32_layers=[0, -4]),
}


@pytest.mark.parametrize("name", sorted(READER_META))
def test_damaged_reader_metadata_names_the_file_and_the_fix(tmp_path, name):
    from qa import ModelError
    from qa.reader import META, WEIGHTS, load_reader
    from qa.settings import DEFAULT_READER

    reader_dir = tmp_path / "reader"
    reader_dir.mkdir()
    (reader_dir / WEIGHTS).symlink_to(DEFAULT_READER / WEIGHTS)
    content = READER_META[name]
    if content is not None:
        (reader_dir / META).write_bytes(content)
    with pytest.raises(ModelError) as err:
        load_reader(str(reader_dir))
    assert str(reader_dir / META) in str(err.value) and "git checkout" in str(err.value), err.value


@pytest.mark.parametrize("name", sorted(QUESTIONS))
def test_questions_api(default_qa, name):
    question = QUESTIONS[name]
    if name in BLANK | TOO_LONG:
        with pytest.raises(QuestionError) as err:
            default_qa.ask(question)
        assert err.value.reason == ("too_long" if name in TOO_LONG else "empty")
        return
    answer = default_qa.ask(question)
    assert 0.0 <= answer.score <= 1.0
    if answer.text is not None:
        assert default_qa.article[answer.start:answer.end] == answer.text
    # and the next request is still served
    assert default_qa.ask("Siapa Penjabat Gubernur Banten?").text


@pytest.mark.parametrize("name", sorted(LONE_SURROGATES))
def test_lone_surrogates_are_replaced_not_a_crash(default_qa, name):
    question = LONE_SURROGATES[name]
    answer = default_qa.ask(question)
    assert 0.0 <= answer.score <= 1.0
    assert default_qa.retrieve(question, k=2)
    reader = default_qa.reader
    context = "Ketua panitia \udcff adalah Siti Rahmawati."
    read = reader.read(question, context, Settings(no_answer_threshold=0.0))
    assert read.text is not None and read.text == context[read.start:read.end].replace("\udcff", "\ufffd")
    qa = ArticleQA.from_text(f"Kafe di Bandung \ud800 buka pukul tujuh pagi. {question}")
    assert "\ufffd" in qa.article and len(qa.passages) >= 1


@pytest.mark.parametrize("k", [1.5, "3", 0, -2, True, [3]])
def test_bad_k_is_a_clear_error(default_qa, k):
    with pytest.raises(QAError, match="k must be a whole number"):
        default_qa.retrieve("Siapa Penjabat Gubernur Banten?", k=k)
    with pytest.raises(QAError, match="k must be a whole number"):
        default_qa.ask("Siapa Penjabat Gubernur Banten?", k=k)


def test_whole_number_k_is_accepted(default_qa):
    import numpy as np

    assert len(default_qa.retrieve("Siapa Penjabat Gubernur Banten?", k=np.int64(2))) == 2
    assert len(default_qa.retrieve("Siapa Penjabat Gubernur Banten?")) == default_qa.settings.top_k


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
    assert len(errors) == len(BLANK | TOO_LONG)  # exactly the blank and too long ones are refused, with a message
    assert sum("terlalu panjang" in r["error"] for r in errors) == len(TOO_LONG)
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
        assert out.returncode == 2 and out.stderr.startswith("Kesalahan:"), out.stderr
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


def test_a_huge_question_is_refused_before_any_work(default_qa, monkeypatch):
    """Fifty megabytes must not be normalised character by character: refused on its length alone."""
    import qa.text

    monkeypatch.setattr(qa.text, "replace_surrogates", lambda _: pytest.fail("the question was processed"))
    with pytest.raises(QuestionError, match="limit is 1,000"):
        default_qa.ask("a" * 50_000_000)
    with pytest.raises(QuestionError, match="limit is 1,000"):
        default_qa.reader.read("a" * 1001, "Konteks.")


@pytest.mark.parametrize(("field", "value"), [
    ("chunk_chars", 0), ("chunk_chars", -5), ("chunk_overlap", -1), ("rrf_k", -1), ("rrf_k", 0),
    ("no_answer_threshold", "0.5"), ("no_answer_threshold", float("nan")), ("no_answer_threshold", 7),
    ("top_k", "3"), ("top_k", 0), ("top_k", True), ("num_threads", 10**6), ("num_threads", 0),
    ("window_stride", 256), ("int8", "yes"), ("reader", ""), ("max_answer_tokens", 2.5),
])
def test_settings_are_validated_with_field_value_and_range(field, value):
    with pytest.raises(QAError) as err:
        Settings(**{field: value})
    assert field in str(err.value) and "must be" in str(err.value)
    with pytest.raises(QAError):
        ArticleQA.from_text("Teks singkat.", **{field: value})


def test_context_that_is_not_text_is_a_clear_error(default_qa):
    with pytest.raises(QuestionError, match="context must be text"):
        default_qa.ask("Kapan itu?", context=123)  # type: ignore[arg-type]
