"""Real-article data: reading annotated articles, the training mix made from them, and what is refused."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qa.errors import QAError
from qa.squad import Example
from qa.training.news import (
    NEWS_DIR,
    AnnotatedArticle,
    Question,
    annotated_articles,
    annotated_examples,
    build,
    placed_examples,
    question_names,
    read_annotated,
    refuse_eval_split,
    swapped_examples,
)

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ("Menteri Keuangan Purbaya Lapor Lifting\n\n"
           "Menteri Keuangan Purbaya Yudhi Sadewa mengatakan target tercapai di Jakarta, Senin (20/10/2025).\n\n"
           "Kementerian Keuangan mencatat 979 pegawai berkurang tahun ini.\n\n"
           "Menurut Purbaya, pegawai berkurang karena pensiun dini.\n")


def write_article(folder: Path, rows: list[dict], text: str = ARTICLE, slug: str = "a1") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{slug}.txt").write_text(text, encoding="utf-8")
    (folder / f"{slug}.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return folder / f"{slug}.txt"


def test_reads_headline_paragraphs_and_questions(tmp_path: Path) -> None:
    txt = write_article(tmp_path, [{"id": "q1", "question": "Berapa pegawai berkurang?", "answers": ["979"],
                                    "type": "how_many"},
                                   {"id": "q2", "question": "Siapa Menteri Dalam Negeri?", "answers": []}])
    art = read_annotated(txt)
    assert art.title == "Menteri Keuangan Purbaya Lapor Lifting"
    assert len(art.paragraphs) == 3 and art.paragraphs[1].startswith("Kementerian Keuangan")
    assert [q.type for q in art.questions] == ["how_many", ""] and art.questions[1].answers == []


@pytest.mark.parametrize(("line", "message"), [
    ('{"question": "Siapa?", "answers": ["Bukan di artikel"]}', "gold answer 'Bukan di artikel' is not in a1.txt"),
    ('{"question": "Siapa?", "answers": "979"}', "malformed line"),
    ('{"question": "", "answers": []}', "malformed line"),
    ("[1, 2]", "malformed line"),
    ("{not json", "malformed line"),
])
def test_bad_lines_name_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    txt = write_article(tmp_path, [{"question": "Berapa?", "answers": ["979"]}])
    with txt.with_suffix(".jsonl").open("a", encoding="utf-8") as f:
        f.write(line + "\n")
    with pytest.raises(QAError, match="a1.jsonl:2") as err:
        read_annotated(txt)
    assert message in str(err.value)


def test_folder_without_articles_is_refused(tmp_path: Path) -> None:
    with pytest.raises(QAError, match="no such folder"):
        annotated_articles(tmp_path / "missing")
    with pytest.raises(QAError, match="no <slug>.txt"):
        annotated_articles(tmp_path)


def test_dev_and_test_splits_are_never_trained_on(tmp_path: Path) -> None:
    for split in ("dev", "test"):
        (tmp_path / split).mkdir()
        with pytest.raises(SystemExit, match="never trained on"):
            refuse_eval_split(tmp_path / split)
    refuse_eval_split(tmp_path)  # any other folder is fine


def test_annotated_examples_hold_their_answer_or_none(tmp_path: Path) -> None:
    art = AnnotatedArticle("a1", ARTICLE, "Menteri Keuangan Purbaya Lapor Lifting", [
        p for p in ARTICLE.split("\n\n")[1:] if p.strip()])
    art.paragraphs = [p.strip() for p in art.paragraphs]
    art.questions = [Question("q1", "Berapa pegawai Kementerian Keuangan berkurang?", ["979"]),
                     Question("q2", "Mengapa pegawai berkurang?", ["pensiun dini"]),
                     Question("q3", "Siapa Menteri Dalam Negeri?", [])]
    examples = annotated_examples([art], random.Random(1), copies=3)
    assert examples
    for ex in examples:
        if ex.answers:
            assert ex.context[ex.starts[0]: ex.starts[0] + len(ex.answers[0])] == ex.answers[0]
        else:  # made negatives and unanswerable questions: no gold answer anywhere in what is read
            gold = {"q1": "979", "q2": "pensiun dini"}.get(ex.id.split("-")[0])
            assert gold is None or gold not in ex.context
    assert {ex.id.split("-")[0] for ex in examples if not ex.answers} >= {"q3"}


def test_question_names_skip_the_question_word_days_and_months() -> None:
    assert question_names("Siapa Kapolres Serang yang menangkap Budi pada Senin, 3 Maret?") == [
        "Kapolres Serang", "Budi"]
    assert question_names("Berapa target lifting minyak dalam APBN 2025?") == ["APBN"]


def test_swapped_questions_name_what_their_article_never_mentions() -> None:
    def article(slug: str, paragraphs: list[str], questions: list[Question]) -> AnnotatedArticle:
        return AnnotatedArticle(slug, "\n\n".join([slug, *paragraphs]), slug, paragraphs, questions)

    serang = article("serang", ["Kapolres Serang AKBP Andi menangkap Erwin di Cikande, Sabtu (18/10).",
                                "Erwin meminjam uang dari korban sebulan sebelumnya."],
                     [Question("q1", "Siapa Kapolres Serang yang menangkap Erwin?", ["AKBP Andi"]),
                      Question("q2", "Di mana Erwin ditangkap?", ["Cikande"]),
                      Question("q3", "Siapa hakim yang mengadili Erwin?", [])])
    bogor = article("bogor", ["Kapolres Bogor AKBP Rio memeriksa Erwin Gunawan dan Sinta di Cibinong."],
                    [Question("q4", "Siapa Kapolres Bogor yang memeriksa Erwin Gunawan?", ["AKBP Rio"]),
                     Question("q5", "Di mana Sinta diperiksa?", ["Cibinong"])])
    out = swapped_examples([serang, bogor], random.Random(0), copies=4)
    assert out and all(not ex.answers and re.fullmatch(r"q\d-s\d", ex.id) for ex in out)
    originals = {q.id: q for art in (serang, bogor) for q in art.questions}
    for ex in out:
        own = serang if ex.id[:2] in ("q1", "q2") else bogor
        assert ex.context in own.text or all(p in own.text for p in ex.context.split("\n\n"))
        new = [n for n in question_names(ex.question) if n.lower() not in own.text.lower()]
        assert len(new) == 1, ex.question  # exactly one name swapped, for one the article lacks
        assert "Gunawan" not in ex.question or ex.id.startswith("q4")  # "Erwin" never becomes "Erwin Gunawan"
        assert ex.question != originals[ex.id[:2]].question
    assert any("Kapolres Bogor" in ex.question for ex in out if ex.id.startswith("q1"))  # same first word
    assert not any(ex.id.startswith("q3") for ex in out)  # unanswerable already: nothing to swap


def test_placed_passages_sit_among_news_paragraphs_without_their_answer() -> None:
    paragraphs = ["Harga cabai di Riau naik menjadi Rp 80 ribu per kilogram pekan ini.",
                  "Pedagang cabai di pasar Pekanbaru mengeluhkan sepinya pembeli.",
                  "Gubernur Riau meninjau pasar tradisional bersama dinas perdagangan."]
    passage = "Harga cabai di Jambi mencapai Rp 60 ribu."
    ex = Example("f1", "Berapa harga cabai di Jambi?", passage, ["Rp 60 ribu"], [passage.index("Rp")])
    out = placed_examples([ex] * 20, paragraphs, random.Random(3), negative_share=0.5)
    assert any(not e.answers for e in out) and any(e.answers for e in out)
    for e in out:
        if e.answers:
            assert e.context[e.starts[0]: e.starts[0] + len(e.answers[0])] == "Rp 60 ribu"
            assert any(p in e.context for p in paragraphs)
        else:
            assert "Jambi" not in e.context


@pytest.mark.skipif(not (NEWS_DIR / "qa" / "train").is_dir(), reason="../shared/data/news is not present")
def test_real_articles_read_cleanly() -> None:
    for split in ("train", "dev", "test"):
        articles = annotated_articles(NEWS_DIR / "qa" / split)
        assert articles and all(a.questions and a.paragraphs for a in articles)


def test_training_command_without_news_data_says_so(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "qa.training.news", "--news", str(tmp_path), "--out",
                           str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "real-article data" in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(not (NEWS_DIR / "qa" / "train").is_dir(), reason="../shared/data/news is not present")
def test_wiki_adds_wikipedia_questions_not_in_the_replay() -> None:
    from qa.training.train import DATA_DIR

    base = build(NEWS_DIR, DATA_DIR, copies=1, facqa=0, squad_id=0, replay=300)
    more = build(NEWS_DIR, DATA_DIR, copies=1, facqa=0, squad_id=0, replay=300, wiki=200)
    assert len(more) == len(base) + 200
    ids = [ex.id for ex in more]
    assert len(ids) == len(set(ids))
    added = set(ids) - {ex.id for ex in base}
    assert any(not ex.answers for ex in more if ex.id in added)


@pytest.mark.skipif(not (NEWS_DIR / "qa" / "train").is_dir(), reason="../shared/data/news is not present")
def test_each_source_can_be_left_out_for_the_ablation() -> None:
    from qa.training.train import DATA_DIR

    annotated = build(NEWS_DIR, DATA_DIR, copies=1, facqa=0, squad_id=0, replay=0)
    assert annotated and all(re.fullmatch(r".+-(a\d+|u\d+|n)", ex.id) and "placed" not in ex.id for ex in annotated)
    placed = build(NEWS_DIR, DATA_DIR, copies=0, facqa=20, squad_id=0, replay=0)
    assert placed and all("placed" in ex.id for ex in placed)
    assert build(NEWS_DIR, DATA_DIR, copies=0, facqa=0, squad_id=0, replay=0) == []
