"""The per-article index cache stays bounded (least recently used out first) and can be listed and cleared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from qa import cache

ROOT = Path(__file__).resolve().parent.parent


def fake_index(root: Path, name: str, size: int, age_s: float) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "dense.faiss").write_bytes(b"x" * size)
    (folder / "manifest.json").write_text("{}")
    t = time.time() - age_s
    os.utime(folder / "manifest.json", (t, t))
    return folder


def test_least_recently_used_go_first_by_count_and_by_size(tmp_path: Path) -> None:
    folders = [fake_index(tmp_path, f"a{i}", 1000, age_s=100 * i) for i in range(5)]  # a0 newest
    (tmp_path / ".a9.tmp-123").mkdir()  # a live writer's folder is not the cache's to evict
    removed = cache.prune(tmp_path, max_indexes=3)
    assert sorted(removed) == folders[3:] and all(f.exists() for f in folders[:3])
    assert (tmp_path / ".a9.tmp-123").exists()
    removed = cache.prune(tmp_path, max_bytes=2100)  # the sizes count too
    assert removed == [folders[2]]


def test_the_index_just_used_always_stays(tmp_path: Path) -> None:
    old = fake_index(tmp_path, "old", 5000, age_s=10_000)
    fake_index(tmp_path, "new", 10, age_s=0)
    assert cache.prune(tmp_path, keep=old, max_indexes=1, max_bytes=100) == []
    assert old.exists()


def test_using_an_article_marks_and_bounds_the_cache(tmp_path: Path, monkeypatch, embedder) -> None:
    from qa import ArticleQA

    monkeypatch.setenv("TANYA_ARTIKEL_CACHE", str(tmp_path))
    monkeypatch.setattr(cache, "MAX_INDEXES", 2)
    first = ArticleQA("Budi membeli sepeda di Bandung.", embedder=embedder)
    time.sleep(0.05)
    ArticleQA("Ani membeli buku di Jakarta.", embedder=embedder)
    time.sleep(0.05)
    ArticleQA("Budi membeli sepeda di Bandung.", embedder=embedder)  # used again: now the newest
    time.sleep(0.05)
    ArticleQA("Harga sepeda itu Rp 2 juta.", embedder=embedder)
    names = {e.path.name for e in cache.entries()}
    assert len(names) == 2 and first.index_dir.name in names


def test_cli_lists_and_clears(tmp_path: Path) -> None:
    fake_index(tmp_path / "indexes", "abc", 2000, age_s=3600)
    env = {**os.environ, "TANYA_ARTIKEL_CACHE": str(tmp_path)}

    def cli(*args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "qa", "cache", *args], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
        return out.stdout

    assert "1 indeks artikel" in cli("--list") and "abc" in cli("--list")
    assert json.loads(cli("--list", "--json"))[0]["bytes"] == 2002
    assert "1 indeks artikel dihapus" in cli("--clear")
    assert json.loads(cli("--list", "--json")) == []
