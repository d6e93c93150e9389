"""The persisted index: reused when valid, rebuilt when stale, truncated or corrupt, written atomically."""

import json
import logging

import pytest

from qa import ArticleQA, store

TEXT = "Budi membeli sepeda di Bandung. Ani membeli buku di Jakarta.\nHarga sepeda itu Rp 2 juta."


@pytest.fixture()
def index_dir(tmp_path):
    return tmp_path / "idx"


def build(index_dir, **kw):
    from qa.settings import Settings

    return ArticleQA(TEXT, settings=Settings(**kw), index_dir=index_dir)


def test_reused_when_manifest_matches(index_dir):
    build(index_dir)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert set(manifest["files"]) == {"passages.json", "dense.faiss"}
    assert manifest["article_sha256"] and manifest["embedder"] and manifest["versions"]
    mtime = (index_dir / "dense.faiss").stat().st_mtime_ns
    build(index_dir)
    assert (index_dir / "dense.faiss").stat().st_mtime_ns == mtime


def test_rebuilt_when_settings_change(index_dir):
    build(index_dir, chunk_chars=400)
    build(index_dir, chunk_chars=40)
    assert json.loads((index_dir / "manifest.json").read_text())["chunking"]["max_chars"] == 40


@pytest.mark.parametrize("victim,damage", [
    ("dense.faiss", lambda p: p.write_bytes(p.read_bytes()[:20])),
    ("passages.json", lambda p: p.write_text("[[0, 99999]]")),
    ("manifest.json", lambda p: p.write_text("{not json")),
    ("dense.faiss", lambda p: p.unlink()),
])
def test_corruption_is_detected_and_rebuilt(index_dir, victim, damage, caplog):
    build(index_dir)
    damage(index_dir / victim)
    with caplog.at_level(logging.INFO, logger="qa"):
        qa = build(index_dir)
    assert [TEXT[p.start:p.end] for p in qa.passages] == [p.text for p in qa.passages] and qa.passages
    assert store.load(index_dir, {}) is not None  # verified again after the rebuild
    assert any("rebuild" in r.getMessage() for r in caplog.records)


def _set_files(files):
    def damage(path):
        manifest = json.loads(path.read_text())
        path.write_text(json.dumps({**manifest, "files": files}))
    return damage


def _with_matching_hash(content: bytes):
    """A file of the wrong shape whose checksum the manifest agrees with."""
    def damage(path):
        path.write_bytes(content)
        manifest_path = path.parent / "manifest.json"
        manifest = json.loads(manifest_path.read_text())
        manifest["files"][path.name] = store.sha256_file(path)
        manifest_path.write_text(json.dumps(manifest))
    return damage


def _passages_with_matching_hash(spans):
    return _with_matching_hash(json.dumps(spans).encode())


@pytest.mark.parametrize("victim,damage", [
    ("manifest.json", _set_files(None)),
    ("manifest.json", _set_files([])),
    ("manifest.json", _set_files({})),
    ("manifest.json", _set_files("abc")),
    ("manifest.json", _set_files({"passages.json": 5, "dense.faiss": None})),
    ("manifest.json", lambda p: p.write_text("[]")),
    ("passages.json", _passages_with_matching_hash({"a": 1})),
    ("passages.json", _passages_with_matching_hash([[0]])),
    ("passages.json", _passages_with_matching_hash([["a", "b"]])),
    ("passages.json", _passages_with_matching_hash([[5, 2]])),
    ("passages.json", _passages_with_matching_hash([[0, 10**9]])),
    ("passages.json", _passages_with_matching_hash([[0.5, 10]])),
    ("passages.json", _passages_with_matching_hash([])),
    ("passages.json", _passages_with_matching_hash(None)),
    ("passages.json", _with_matching_hash(b"\xff not JSON")),
    ("dense.faiss", _with_matching_hash(b"not a FAISS index")),
], ids=["files-null", "files-list", "files-empty", "files-string", "digests-not-strings", "manifest-list",
        "passages-object", "span-of-one", "span-of-strings", "span-reversed", "span-past-the-end", "span-float",
        "no-spans", "passages-null", "passages-not-json", "faiss-not-faiss"])
def test_malformed_manifest_or_passages_are_rebuilt(index_dir, victim, damage, caplog):
    build(index_dir)
    damage(index_dir / victim)
    with caplog.at_level(logging.INFO, logger="qa"):
        qa = build(index_dir)
    assert qa.passages and [TEXT[p.start:p.end] for p in qa.passages] == [p.text for p in qa.passages]
    assert any("rebuild" in r.getMessage() for r in caplog.records)
    assert json.loads((index_dir / "passages.json").read_text()) == [[p.start, p.end] for p in qa.passages]


def test_failed_write_leaves_old_index(index_dir):
    build(index_dir)
    before = (index_dir / "manifest.json").read_text()

    def boom(path):
        path.write_bytes(b"partial")
        raise RuntimeError("killed while writing")

    with pytest.raises(RuntimeError):
        store.save(index_dir, {"x": 1}, {"dense.faiss": boom})
    assert (index_dir / "manifest.json").read_text() == before
    assert not [p for p in index_dir.parent.iterdir() if p.name.startswith(".idx.tmp")]


def test_files_outside_directory_are_refused(index_dir):
    build(index_dir)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    manifest["files"]["../evil"] = "0" * 64
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    assert store.load(index_dir, {}) is None


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from qa import store

def slow(path):
    path.write_bytes(b"half of a faiss index")
    Path(sys.argv[2]).write_text("writing")
    time.sleep(60)

store.save(Path(sys.argv[1]), {"x": 2}, {"dense.faiss": slow})
"""


def test_killed_writer_never_half_overwrites(index_dir, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    build(index_dir)
    before = store.load(index_dir, {})
    assert before is not None
    flag = tmp_path / "flag"
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(index_dir), str(flag)],
                            cwd=Path(__file__).resolve().parent.parent)
    deadline = time.time() + 120
    while not flag.exists() and time.time() < deadline:
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert store.load(index_dir, {}) == before  # the old index is intact and verified
    leftovers = list(index_dir.parent.glob(".idx.tmp-*"))
    assert leftovers  # the killed writer's temporary directory...
    old = time.time() - 3600
    for p in leftovers:
        os.utime(p, (old, old))
    build(index_dir, chunk_chars=50)  # ...is cleaned up by the next writer once stale
    assert not list(index_dir.parent.glob(".idx.tmp-*"))


def _leftovers(parent, name, age_s):
    """Entries a writer killed mid-save leaves: its temporary directory and the index it was replacing."""
    import os
    import time

    tmp = parent / f".{name}.tmp-k1ll3d"
    tmp.mkdir(parents=True)
    (tmp / "dense.faiss").write_bytes(b"half")
    old = parent / f".{name}.old-4242"
    old.write_text("an index/ that was a file")
    for p in (tmp, old):
        os.utime(p, (time.time() - age_s, time.time() - age_s))
    return [tmp, old]


def test_file_shaped_index_is_replaced_without_leftovers(index_dir):
    index_dir.write_text("not a directory")
    qa = build(index_dir)
    assert qa.passages and index_dir.is_dir() and store.load(index_dir, {}) is not None
    assert sorted(p.name for p in index_dir.parent.iterdir()) == ["idx"]


def test_stale_leftovers_are_removed_at_start_young_ones_kept(index_dir):
    build(index_dir)
    stale = _leftovers(index_dir.parent, "idx", age_s=3600)
    build(index_dir)  # the index is reused: no save, only the lookup
    assert not any(p.exists() for p in stale)
    young = _leftovers(index_dir.parent, "idx", age_s=0)  # a live writer's
    build(index_dir)
    assert all(p.exists() for p in young)


def test_stale_leftovers_of_any_article_in_the_cache_are_removed(tmp_path, monkeypatch, embedder):
    monkeypatch.setenv("TANYA_ARTIKEL_CACHE", str(tmp_path))  # the models are loaded already (fixture)
    stale = _leftovers(tmp_path / "indexes", "0123456789abcdef01234567", age_s=3600)
    qa = ArticleQA(TEXT, embedder=embedder)
    assert qa.index_dir.parent == tmp_path / "indexes" and not any(p.exists() for p in stale)


def test_default_article_with_other_chunking_leaves_committed_index_alone():
    from qa.settings import DEFAULT_INDEX_DIR

    before = {p.name: p.read_bytes() for p in DEFAULT_INDEX_DIR.iterdir()}
    assert ArticleQA.default().index_dir == DEFAULT_INDEX_DIR
    other = ArticleQA.default(chunk_chars=300)
    assert other.index_dir != DEFAULT_INDEX_DIR and (other.index_dir / "manifest.json").is_file()
    assert {p.name: p.read_bytes() for p in DEFAULT_INDEX_DIR.iterdir()} == before


def test_disk_full_while_writing_the_faiss_file_still_answers(index_dir, monkeypatch, caplog):
    """passages.json fits, dense.faiss does not: FAISS raises RuntimeError; the answer comes, the cache
    is skipped with a warning, and nothing half-written is left."""
    import faiss

    def full_disk(index, path):
        with open(path, "wb") as f:
            f.write(b"\0" * 100)
        raise RuntimeError("Error in faiss::FileIOWriter: fwrite failed: No space left on device")

    monkeypatch.setattr(faiss, "write_index", full_disk)
    with caplog.at_level(logging.WARNING):
        qa = build(index_dir)
    assert qa.ask("Berapa harga sepeda itu?").text
    assert "could not save the index" in caplog.text
    assert not index_dir.exists() and not list(index_dir.parent.glob(".idx.tmp-*"))
