"""``python -m qa collection ...`` and ``ask --collection``: real models, real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.test_collection import CABAI, KEMENKEU, KRL

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_build_ask_list_remove(tmp_path: Path) -> None:
    jsonl = tmp_path / "arsip.jsonl"
    rows = [{"id": "kemenkeu", "title": "Pegawai Kemenkeu", "date": "2025-10-20", "url": "https://contoh.id/k",
             "text": KEMENKEU}, {"id": "cabai", "date": "2025-10-21", "text": CABAI}]
    jsonl.write_text("\n".join(json.dumps(r) for r in rows) + "\n{rusak\n", encoding="utf-8")
    koleksi = str(tmp_path / "koleksi")
    built = cli("collection", "build", koleksi, "--jsonl", str(jsonl), "--quiet")
    assert built.returncode == 1, built.stderr  # one line was left out, the rest went in
    assert "Baris 3 dilewati" in built.stderr and "2 artikel ditambahkan" in built.stdout
    page = tmp_path / "krl.txt"
    page.write_text(KRL, encoding="utf-8")
    added = cli("collection", "add", koleksi, "--file", str(page), "--date", "2026-01-02")
    assert added.returncode == 0 and "Koleksi: 3 artikel" in added.stdout

    asked = cli("ask", "--collection", koleksi, "--json", "Berapa pegawai Kemenkeu yang berkurang?")
    answer = json.loads(asked.stdout)
    assert "979" in answer["text"] and answer["article"]["id"] == "kemenkeu"
    assert answer["article"]["url"] == "https://contoh.id/k" and "979" in answer["source_sentence"]
    text = cli("ask", "--collection", koleksi, "Kapan rute baru KRL mulai beroperasi?")
    assert "Artikel: Rute Baru KRL Dibuka · 2026-01-02" in text.stdout
    filtered = cli("retrieve", "--collection", koleksi, "--json", "--since", "2025-10-21", "-k", "5", "pegawai")
    assert {p["article"]["id"] for p in json.loads(filtered.stdout)} == {"cabai", "krl"}

    listed = json.loads(cli("collection", "list", koleksi, "--json").stdout)
    assert [a["id"] for a in listed] == ["kemenkeu", "cabai", "krl"]
    removed = cli("collection", "remove", koleksi, "cabai")
    assert removed.returncode == 0 and "Koleksi: 2 artikel" in removed.stdout
    again = cli("collection", "remove", koleksi, "cabai")
    assert again.returncode == 2 and "tidak ada artikel dengan id itu" in again.stderr
    assert "Traceback" not in again.stderr
    milvus = str(tmp_path / "kopi.db")
    copied = cli("collection", "copy", koleksi, milvus, "--backend", "milvus", "--quiet")
    assert copied.returncode == 0 and "2 artikel" in copied.stdout, copied.stderr
    asked = cli("ask", "--collection", milvus, "--json", "Berapa pegawai Kemenkeu yang berkurang?")
    assert json.loads(asked.stdout)["article"]["id"] == "kemenkeu"


def test_errors_are_clear_and_in_indonesian(tmp_path: Path) -> None:
    missing = cli("ask", "--collection", str(tmp_path / "tidak-ada"), "Siapa?")
    assert missing.returncode == 2 and "bukan koleksi" in missing.stderr and "Traceback" not in missing.stderr
    unreachable = cli("ask", "--collection", "http://127.0.0.1:9", "Siapa?")
    assert unreachable.returncode == 2 and "server Milvus tidak dapat dihubungi" in unreachable.stderr
    assert "http://127.0.0.1:9" in unreachable.stderr
    dated = cli("ask", "--since", "2025-01-01", "Siapa?")
    assert dated.returncode == 2 and "--collection" in dated.stderr
    nothing = cli("collection", "build", str(tmp_path / "k"))
    assert nothing.returncode == 2 and "--jsonl" in nothing.stderr and not (tmp_path / "k").exists()
