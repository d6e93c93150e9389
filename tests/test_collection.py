"""Collections: the same tests on both backends (FAISS + SQLite, and a real Milvus Lite), with real models."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qa import Collection, QAError
from qa.collection import parse_date

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["faiss", "milvus"]

KEMENKEU = ("Pegawai Kemenkeu Berkurang\n\n"
            "Kementerian Keuangan mencatat jumlah pegawainya berkurang 979 orang sepanjang tahun ini. "
            "Menurut Sekretaris Jenderal Heru Pambudi, pengurangan terjadi karena pensiun dan mutasi.\n\n"
            "Kemenkeu tidak membuka penerimaan calon pegawai negeri pada tahun anggaran 2025.\n")
CABAI = ("Harga Cabai di Riau Naik\n\n"
         "Harga cabai merah di Pekanbaru, Riau, naik menjadi Rp 80 ribu per kilogram pekan ini. "
         "Pedagang di Pasar Cik Puan menyebut pasokan dari Sumatera Barat berkurang akibat hujan deras.\n\n"
         "Dinas Perindustrian dan Perdagangan Riau akan menggelar operasi pasar pada Senin depan.\n")
KRL = ("Rute Baru KRL Dibuka\n\n"
       "KAI Commuter membuka rute baru KRL dari Stasiun Tanah Abang ke Stasiun Cikarang. "
       "Rute itu mulai beroperasi pada 5 Januari 2026 dengan 12 perjalanan per hari.\n")


def make(tmp_path: Path, backend: str, name: str = "koleksi") -> Collection:
    path = tmp_path / (f"{name}.db" if backend == "milvus" else name)
    return Collection.create(path, backend=backend)


def reopen(col: Collection) -> Collection:
    col.close()
    store = col.store
    return Collection.open(store.folder) if hasattr(store, "folder") else Collection.open(store.uri)


@pytest.fixture(params=BACKENDS)
def news(request, tmp_path: Path):
    col = make(tmp_path, request.param)
    col.add_text(KEMENKEU, id="kemenkeu", date="2025-10-20", url="https://contoh.id/kemenkeu")
    col.add_text(CABAI, id="cabai", date="21 Oktober 2025")
    col.add_text(KRL, id="krl")
    yield col
    col.close()


def test_answers_across_articles_and_names_the_article(news: Collection) -> None:
    a = news.ask("Berapa pegawai Kemenkeu yang berkurang?")
    assert a.text is not None and "979" in a.text
    assert a.article is not None and a.article.id == "kemenkeu"
    assert (a.article.title, a.article.date, a.article.url) == (
        "Pegawai Kemenkeu Berkurang", "2025-10-20", "https://contoh.id/kemenkeu")
    info, text = news.article("kemenkeu")
    assert text[a.start : a.end] == a.text and info == a.article
    b = news.ask("Berapa harga cabai merah di Pekanbaru?")
    assert b.article is not None and b.article.id == "cabai" and "80" in (b.text or "")


def test_search_returns_passages_with_their_articles(news: Collection) -> None:
    hits = news.search("harga cabai Riau", k=2)
    assert len(hits) == 2 and hits[0].article is not None and hits[0].article.id == "cabai"
    for p in hits:
        assert p.article is not None
        assert news.article(p.article.id)[1][p.start : p.end] == p.text
    assert len(news) == 3 and [a.id for a in news.articles()] == ["krl", "kemenkeu", "cabai"]  # undated first


def test_same_text_is_stored_once_and_a_taken_id_is_refused(news: Collection) -> None:
    count = news.store.passage_count()
    assert news.add_text(KEMENKEU, id="lain") == "kemenkeu"
    assert len(news) == 3 and news.store.passage_count() == count
    with pytest.raises(QAError, match="already used"):
        news.add_text(KRL.replace("12", "14"), id="krl")


def test_remove_and_date_filters(news: Collection) -> None:
    assert news.ask("Berapa pegawai Kemenkeu yang berkurang?", since="2025-10-21").article.id != "kemenkeu"
    hits = news.search("pegawai harga rute", k=10, until="2025-10-20")
    assert hits and {p.article.id for p in hits} == {"kemenkeu"}
    assert news.search("rute KRL", k=10, since="2026-01-01") == []
    news.remove("cabai")
    assert len(news) == 2 and all(p.article.id != "cabai" for p in news.search("harga cabai Riau", k=10))
    with pytest.raises(QAError, match="no article with the id 'cabai'"):
        news.remove("cabai")
    reopened = reopen(news)
    assert len(reopened) == 2 and reopened.ask("Kapan rute baru KRL mulai beroperasi?").article.id == "krl"


def test_add_jsonl_reports_bad_lines_and_adds_the_rest(news: Collection, tmp_path: Path) -> None:
    lines = [json.dumps({"id": 7, "title": "Banjir", "date": "10/21/2025 20:43", "url": "https://contoh.id/7",
                         "text": "Banjir merendam 300 rumah di Kecamatan Cibadak pada Selasa malam."}),
             "{not json",
             json.dumps({"id": 8, "text": "   "}),
             json.dumps({"id": 9, "date": "kemarin sore", "text": "Gempa mengguncang Cianjur."}),
             json.dumps({"id": 10, "text": CABAI}),  # the same text as a stored article
             json.dumps(["a list"]),
             "",
             json.dumps({"id": 11, "text": "Banjir merendam 300 rumah di Kecamatan Cibadak pada Selasa malam."}),
             json.dumps({"id": 7, "text": "Longsor menutup jalan di Kecamatan Cibadak."})]
    path = tmp_path / "tambahan.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    report = news.add_jsonl(path, progress=False)
    assert report.added == ["7"] and report.duplicates == ["cabai", "7"]  # line 8 repeats line 1's text
    assert [n for n, _ in report.errors] == [2, 3, 4, 6, 9]  # line 9 reuses line 1's id for another text
    assert "kemarin sore" in str(report.errors[2][1])
    assert len(news) == 4 and news.article("7")[0].date == "2025-10-21"
    assert news.ask("Berapa rumah yang terendam banjir?").article.id == "7"


def test_files_and_bad_input(news: Collection, tmp_path: Path) -> None:
    page = tmp_path / "berita-gempa.txt"
    page.write_text("Gempa Cianjur\n\nGempa bermagnitudo 5,6 mengguncang Cianjur pada Senin siang.\n",
                    encoding="utf-8")
    assert news.add_file(page, date="2025-11-03") == "berita-gempa"
    assert news.article("berita-gempa")[0].title == "Gempa Cianjur"
    with pytest.raises(QAError, match="cannot be read"):
        news.add_text("Teks lain.", date="31/31/2025")
    with pytest.raises(QAError, match="empty"):
        news.add_text("  \n ")
    with pytest.raises(QAError, match="not found"):
        news.add_file(tmp_path / "tidak-ada.txt")
    with pytest.raises(QAError, match="no article"):
        news.article("tidak-ada")
    with pytest.raises(QAError, match="whole number"):
        news.search("cabai", k=0)
    with pytest.raises(QAError, match="empty"):
        news.ask("   ")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_add_leaves_the_collection_as_before(tmp_path: Path, backend: str, monkeypatch) -> None:
    col = make(tmp_path, backend)
    col.add_text(KEMENKEU, id="kemenkeu")
    count = col.store.passage_count()
    original = type(col.store).add

    if backend == "faiss":
        def add_and_die(self, articles):
            monkeypatch.setattr(type(self), "_write_generation",
                                lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
            return original(self, articles)
        monkeypatch.setattr(type(col.store), "add", add_and_die)
    else:
        def passages_only(self, articles):  # killed after the passages, before the article rows
            monkeypatch.setattr(self.client, "insert", _only(self.client.insert, self.passages_name))
            original(self, articles)
            raise KeyboardInterrupt
        monkeypatch.setattr(type(col.store), "add", passages_only)
    with pytest.raises(KeyboardInterrupt):
        col.add_text(CABAI, id="cabai")
    monkeypatch.undo()
    assert len(col) == 1 and [a.id for a in col.articles()] == ["kemenkeu"]
    assert all(p.article.id == "kemenkeu" for p in col.search("harga cabai", k=5))
    if backend == "faiss":
        assert col.store.passage_count() == count
        assert [f.name for f in col.store.folder.glob("dense-*")] == ["dense-1.faiss"]
    col.add_text(CABAI, id="cabai")  # the same add again completes
    assert len(col) == 2 and col.ask("Berapa harga cabai merah di Pekanbaru?").article.id == "cabai"
    col.close()


def _only(insert, name: str):
    def insert_into(collection: str, rows):
        return insert(collection, rows) if collection == name else None
    return insert_into


def test_a_killed_build_serves_the_collection_as_before_or_complete(tmp_path: Path) -> None:
    path = tmp_path / "koleksi"
    Collection.create(path).add_text(KEMENKEU, id="kemenkeu")
    rows = [{"id": f"a{i}", "text": f"Artikel nomor {i} tentang banjir di kecamatan ke-{i}. " * 30} for i in range(60)]
    jsonl = tmp_path / "banyak.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    script = ("import sys; from qa import Collection; c = Collection.open(sys.argv[1]); print('mulai', flush=True); "
              "c.add_jsonl(sys.argv[2], progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", script, str(path), str(jsonl)], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "mulai"
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    col = Collection.open(path)
    assert len(col) in (1, 61)
    assert col.ask("Berapa pegawai Kemenkeu yang berkurang?").article.id == "kemenkeu"
    col.add_jsonl(jsonl, progress=False)
    assert len(col) == 61
    col.close()


def test_another_writer_is_seen_by_an_open_collection(tmp_path: Path) -> None:
    reader = Collection.create(tmp_path / "k")
    reader.add_text(KEMENKEU, id="kemenkeu")
    assert reader.search("harga cabai", k=1)[0].article.id == "kemenkeu"
    writer = Collection.open(tmp_path / "k")
    writer.add_text(CABAI, id="cabai")
    assert reader.search("harga cabai", k=1)[0].article.id == "cabai"
    writer.close()
    reader.close()


def test_the_embedder_precision_follows_the_build_engine_and_stays_with_the_collection(tmp_path: Path,
                                                                                     monkeypatch) -> None:
    """int8 where OpenVINO's bf16 engine cannot run, fp32 where it can; a collection keeps its own."""
    monkeypatch.setattr("qa.collection.bf16_available", lambda: False)
    col = Collection.create(tmp_path / "int8")
    assert col.settings.embedder_int8 and col.embedder.int8
    col.add_text(KRL, id="krl")
    col.close()
    monkeypatch.setattr("qa.collection.bf16_available", lambda: True)
    with Collection.open(tmp_path / "int8") as again:
        assert again.embedder.int8
        assert again.ask("Kapan rute baru KRL mulai beroperasi?").article.id == "krl"
    with Collection.create(tmp_path / "fp32") as fresh:
        assert not fresh.settings.embedder_int8 and not fresh.embedder.int8


def test_what_is_not_a_collection(tmp_path: Path) -> None:
    (tmp_path / "biasa").mkdir()
    (tmp_path / "biasa" / "catatan.txt").write_text("x", encoding="utf-8")
    with pytest.raises(QAError, match="is not a collection"):
        Collection.open(tmp_path / "biasa")
    with pytest.raises(QAError, match="is not a collection"):
        Collection.open(tmp_path / "tidak-ada.db")
    with pytest.raises(QAError, match="not an empty folder"):
        Collection.create(tmp_path / "biasa")
    Collection.create(tmp_path / "k").close()
    with pytest.raises(QAError, match="already a collection"):
        Collection.create(tmp_path / "k")
    with pytest.raises(QAError, match="cannot change"):
        Collection.open(tmp_path / "k", chunk_chars=700)
    with pytest.raises(QAError, match="unknown backend"):
        Collection.create(tmp_path / "x", backend="elastic")
    with pytest.raises(QAError, match="must end in .db"):
        Collection.create(tmp_path / "m", backend="milvus")


def test_a_milvus_server_that_does_not_answer_is_named() -> None:
    start = time.monotonic()
    with pytest.raises(QAError, match="cannot reach Milvus at http://127.0.0.1:9"):
        Collection.open(uri="http://127.0.0.1:9")
    assert time.monotonic() - start < 60


def test_both_backends_give_the_same_answers(tmp_path: Path) -> None:
    cols = [make(tmp_path, b) for b in BACKENDS]
    questions = ["Berapa pegawai Kemenkeu yang berkurang?", "Kapan rute baru KRL mulai beroperasi?",
                 "Mengapa pasokan cabai berkurang?", "Siapa Sekretaris Jenderal Kemenkeu?"]
    for col in cols:
        for text, aid in ((KEMENKEU, "kemenkeu"), (CABAI, "cabai"), (KRL, "krl")):
            col.add_text(text, id=aid)
    answers = [[(a.text, a.article.id if a.article else None) for a in map(col.ask, questions)] for col in cols]
    assert answers[0] == answers[1]
    for col in cols:
        col.close()


def test_a_collection_copies_to_the_other_backend_without_embedding(news: Collection, tmp_path: Path,
                                                                      monkeypatch) -> None:
    source = "faiss" if hasattr(news.store, "folder") else "milvus"
    other = "milvus" if source == "faiss" else "faiss"
    monkeypatch.setattr(type(news.embedder), "encode_passages", lambda *a, **k: pytest.fail("embedded again"))
    copy = news.copy_to(tmp_path / ("kopi.db" if other == "milvus" else "kopi"), backend=other, progress=False)
    assert len(copy) == len(news) and copy.store.passage_count() == news.store.passage_count()
    assert copy.articles() == news.articles() and copy.article("kemenkeu") == news.article("kemenkeu")
    for q in ("Berapa pegawai Kemenkeu yang berkurang?", "Kapan rute baru KRL mulai beroperasi?"):
        a, b = news.ask(q), copy.ask(q)
        assert (a.text, a.article) == (b.text, b.article)
    copy.close()


@pytest.mark.parametrize(("value", "iso"), [
    ("2025-10-21", "2025-10-21"), ("2025-10-21T20:43:00", "2025-10-21"), ("10/21/2025 20:43", "2025-10-21"),
    ("21/10/2025", "2025-10-21"), ("Selasa, 21 Okt 2025 20:43 WIB", "2025-10-21"), ("5 Januari 2026", "2026-01-05"),
    (None, None), ("", None)])
def test_dates_are_read_in_common_forms(value, iso) -> None:
    assert parse_date(value) == iso


@pytest.mark.parametrize("value", ["kemarin", "2025-13-01", "32 Oktober 2025", 20251021])
def test_dates_that_do_not_parse_are_refused(value) -> None:
    with pytest.raises(QAError):
        parse_date(value)


def test_a_large_collection_switches_to_ivf_and_still_answers(tmp_path: Path, monkeypatch) -> None:
    import faiss

    from qa.stores import local

    monkeypatch.setattr(local, "FLAT_LIMIT", 60)  # as at 100,000 passages, with fewer to embed
    col = Collection.create(tmp_path / "besar")
    col.add_text(KEMENKEU, id="kemenkeu", date="2025-10-20")
    rows = [{"id": f"b{i}", "date": "2025-11-01",
             "text": f"Banjir setinggi {i + 10} sentimeter merendam Desa Sukamaju {i} pada hari Senin."}
            for i in range(70)]
    (tmp_path / "banjir.jsonl").write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    col.add_jsonl(tmp_path / "banjir.jsonl", progress=False)
    store = col.store
    assert isinstance(store, local.LocalStore) and isinstance(store._current(), faiss.IndexIVFScalarQuantizer)
    a = col.ask("Berapa pegawai Kemenkeu yang berkurang?")
    assert a.article.id == "kemenkeu" and "979" in (a.text or "")
    assert col.search("pegawai Kemenkeu", k=3, until="2025-10-31")[0].article.id == "kemenkeu"
    col.remove("kemenkeu")
    assert len(col) == 70 and all(p.article.id != "kemenkeu" for p in col.search("pegawai Kemenkeu", k=5))
    col.close()
