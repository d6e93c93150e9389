"""The public API and CLI contract, and bad input everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from qa import ArticleError, ArticleQA, Passage, QAError, QuestionError
from qa.text import decode, read_article

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_default_article_and_passage_contract(default_qa):
    assert "Banten" in default_qa.article
    passages = default_qa.retrieve("Siapa Penjabat Gubernur Banten?", k=2)
    assert len(passages) == 2 and all(isinstance(p, Passage) for p in passages)
    for p in passages:
        assert default_qa.article[p.start:p.end] == p.text and isinstance(p.score, float)


def test_from_file_html_keeps_title(tmp_path):
    page = tmp_path / "berita.html"
    page.write_text("<html><head><title>Banjir di Bekasi</title></head><body><nav>Menu</nav><article>"
                    "<p>Banjir merendam tiga kecamatan di Bekasi pada Selasa pagi setelah hujan deras.</p>"
                    "<p>Warga mengungsi ke masjid terdekat.</p></article></body></html>", encoding="utf-8")
    qa = ArticleQA.from_file(page)
    assert qa.title == "Banjir di Bekasi"
    assert "Banjir merendam" in qa.article and "<p>" not in qa.article


@pytest.mark.parametrize("data,reason", [
    (b"", "empty"), (b"   \n\t  ", "empty"), (b"\x00\x01\x02binary\x00", "binary"),
    (b"%PDF-1.7\n%\xe2\xe3", "pdf"), ("Caf\u00e9 di Bandung".encode("latin-1"), "encoding"),
])
def test_bad_article_files(tmp_path, data, reason):
    path = tmp_path / "artikel.txt"
    path.write_bytes(data)
    with pytest.raises(ArticleError) as err:
        ArticleQA.from_file(path)
    assert err.value.reason == reason and str(err.value)


def test_missing_file_and_utf16():
    with pytest.raises(ArticleError, match="not found"):
        read_article("/no/such/file.txt")
    assert decode("Halo dunia".encode("utf-16")) == "Halo dunia"


def test_empty_and_huge_questions(default_qa):
    for bad in ("", "   ", "\n\t"):
        with pytest.raises(QuestionError):
            default_qa.retrieve(bad)
    with pytest.raises(QuestionError) as err:  # 120,000 characters: refused before any work
        default_qa.retrieve("penghargaan " * 10_000, k=3)
    assert err.value.reason == "too_long"
    assert len(default_qa.retrieve("penghargaan " * 80, k=3)) == 3  # within max_question_chars
    with pytest.raises(QAError):
        ArticleQA.from_text("teks", chunk_size=3)  # unknown setting is named


def test_cli_retrieve_json_and_help():
    out = cli("retrieve", "Di mana penghargaan diserahkan?", "--json", "-k", "2")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data) == 2 and {"text", "start", "end", "score"} <= set(data[0])
    helptext = cli("--help").stdout
    assert "ask" in helptext and "retrieve" in helptext and "index" in helptext


def test_light_import_and_help_do_not_load_torch():
    code = "import sys, qa, qa.cli; qa.Settings(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    from qa import ArticleQA as Lazy  # still importable by name

    assert Lazy is ArticleQA


def test_answering_runs_without_torch_once_models_are_exported(default_qa):
    """The speed path: ONNX Runtime only; torch and transformers load only to export a model once."""
    assert default_qa.reader is not None  # exports both models into the test cache (if not yet there)
    code = ("import sys; from qa import ArticleQA; a = ArticleQA.default().ask('Kapan penghargaan diserahkan?'); "
            "print(sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr


def test_cli_errors_without_traceback(tmp_path):
    empty = tmp_path / "kosong.txt"
    empty.write_text("  ")
    for args in (("retrieve", "   "), ("index", "--article", str(empty)), ("index", "--article", "/nope.txt")):
        out = cli(*args)
        assert out.returncode != 0
        assert "Traceback" not in out.stderr, out.stderr
        assert out.stderr.strip().splitlines()[-1].startswith("Kesalahan:"), out.stderr
