"""``qa.runtime``: export once, reuse, repair a damaged export, survive an unwritable cache.

A tiny randomly initialised BERT keeps these plumbing tests fast; the real models are checked
against torch in ``tests/test_reader.py``.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from qa.integrity import RECORD
from qa.runtime import EMBEDDINGS, GRAPH, META, TOKENIZER, export_graph, load_encoder, load_tokenizer, save_embeddings


@pytest.fixture(autouse=True)
def export_here(monkeypatch):
    """These tests count and patch builds in this process; the child process has its own tests below."""
    import qa.runtime

    monkeypatch.setattr(qa.runtime, "in_child", lambda build, folder: build(folder))


IDS = np.array([[1, 5, 7, 2, 0], [1, 9, 2, 0, 0]])
MASK = (IDS != 0).astype(np.int64)


def tiny_build(out: Path) -> None:
    import torch
    from transformers import BertConfig, BertForQuestionAnswering

    torch.manual_seed(0)
    config = BertConfig(vocab_size=20, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64)
    model = BertForQuestionAnswering(config).eval()
    export_graph(model, out, ("start_logits", "end_logits"), {"pad_id": 0})
    save_embeddings(model, out)


def test_export_once_then_reuse(tmp_path, monkeypatch):
    monkeypatch.setenv("TANYA_ARTIKEL_CACHE", str(tmp_path))
    calls = []

    def build(out: Path) -> None:
        calls.append(out)
        tiny_build(out)

    first = load_encoder("tiny", build)
    start, end = first(IDS, MASK)
    assert start.shape == end.shape == IDS.shape and np.isfinite(start).all()
    second = load_encoder("tiny", build)
    assert len(calls) == 1 and second.folder == first.folder == tmp_path / "onnx" / "tiny"
    np.testing.assert_allclose(second(IDS, MASK)[0], start, atol=1e-6)


def test_damaged_export_is_made_again(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TANYA_ARTIKEL_CACHE", str(tmp_path))
    first = load_encoder("tiny", tiny_build)
    expected = first(IDS, MASK)[0]
    (first.folder / GRAPH).write_bytes(b"not an onnx graph")
    with caplog.at_level(logging.WARNING, logger="qa.runtime"):
        again = load_encoder("tiny", tiny_build)
    assert "damaged" in caplog.text and "exporting it again" in caplog.text
    np.testing.assert_allclose(again(IDS, MASK)[0], expected, atol=1e-5)


def test_unwritable_cache_falls_back_to_temp_and_says_so(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("TANYA_ARTIKEL_CACHE", str(blocker / "cache"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    encoder = load_encoder("tiny", tiny_build)
    assert str(encoder.folder).startswith(str(tmp_path / "tmp"))
    assert "cannot write to the cache directory" in capsys.readouterr().err


def test_stale_exports_of_the_same_kind_are_pruned(tmp_path, monkeypatch):
    import os
    import time

    monkeypatch.setenv("TANYA_ARTIKEL_CACHE", str(tmp_path))
    root = tmp_path / "onnx"
    month_ago = time.time() - 30 * 86400
    for name, age in [("tiny-old", month_ago), ("tiny-recent", time.time()), ("tiny-int8-old", month_ago),
                      ("other-old", month_ago)]:
        (root / name).mkdir(parents=True)
        (root / name / META).write_text("{}")
        os.utime(root / name / META, (age, age))
    (root / "tiny-half").mkdir()  # an interrupted export elsewhere: no META, not ours to judge
    load_encoder("tiny-new", tiny_build)
    assert sorted(p.name for p in root.iterdir()) == ["other-old", "tiny-half", "tiny-int8-old", "tiny-new",
                                                      "tiny-recent"]
    os.utime(root / "tiny-new" / META, (month_ago, month_ago))
    os.utime(root / "tiny-recent" / META, (month_ago, month_ago))
    load_encoder("tiny-new", tiny_build)  # reusing an export marks it used and prunes its stale siblings
    assert (root / "tiny-new" / META).stat().st_mtime > month_ago and not (root / "tiny-recent").exists()


def test_read_only_cache_still_serves_its_exports(tmp_path, monkeypatch):
    import qa.runtime

    monkeypatch.setenv("TANYA_ARTIKEL_CACHE", str(tmp_path))
    first = load_encoder("tiny", tiny_build)

    def refuse(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(qa.runtime.os, "utime", refuse)
    calls = []
    again = load_encoder("tiny", lambda out: calls.append(out))
    assert again.folder == first.folder and not calls


def wide_build(out: Path) -> None:
    """Like :func:`tiny_build`, with a 256 KB matrix (several integrity blocks) and a tokenizer."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertForQuestionAnswering

    torch.manual_seed(0)
    config = BertConfig(vocab_size=2000, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64)
    model = BertForQuestionAnswering(config).eval()
    export_graph(model, out, ("start_logits", "end_logits"), {"pad_id": 0})
    save_embeddings(model, out)
    tokenizer = Tokenizer(models.WordLevel({f"w{i}": i for i in range(2000)}, unk_token="w0"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(out / TOKENIZER))


HIGH = np.array([[1, 1990, 1995, 2, 0], [1, 1999, 2, 0, 0]])  # rows in the matrix's last block


def counted(calls: list) -> Callable[[Path], None]:
    def build(out: Path) -> None:
        calls.append(out)
        wide_build(out)
    return build


def overwrite_middle(path: Path, at: float = 0.5) -> None:
    """Damage that keeps the size and the header: what a stray write or a bad sector does."""
    data = bytearray(path.read_bytes())
    i = int(len(data) * at)
    data[i : i + 64] = bytes(64) if any(data[i : i + 64]) else b"\x7f" * 64
    path.write_bytes(bytes(data))


def test_damaged_matrix_is_found_when_its_rows_are_used_and_made_again(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TANYA_ARTIKEL_CACHE", str(tmp_path))
    calls: list = []
    first = load_encoder("wide", counted(calls))
    low, high = first(IDS, MASK)[0], first(HIGH, MASK)[0]
    overwrite_middle(first.folder / EMBEDDINGS, at=0.97)  # the header and the first rows are intact
    with caplog.at_level(logging.WARNING, logger="qa"):
        again = load_encoder("wide", counted(calls))  # the next start: only sizes and small files are read
        np.testing.assert_allclose(again(IDS, MASK)[0], low, atol=1e-6)
        assert len(calls) == 1 and "damaged" not in caplog.text  # the damaged rows were not used yet
        np.testing.assert_allclose(again(HIGH, MASK)[0], high, atol=1e-5)  # found, made again, right answer
    assert len(calls) == 2 and "damaged" in caplog.text and "exporting it again" in caplog.text
    load_encoder("wide", counted(calls))(HIGH, MASK)
    assert len(calls) == 2  # and made once, not on every start


@pytest.mark.parametrize("victim", [TOKENIZER, GRAPH, META, RECORD])
def test_damaged_files_of_an_export_are_made_again_at_start(tmp_path, monkeypatch, caplog, victim):
    monkeypatch.setenv("TANYA_ARTIKEL_CACHE", str(tmp_path))
    calls: list = []
    first = load_encoder("wide", counted(calls))
    expected = first(HIGH, MASK)[0]
    overwrite_middle(first.folder / victim)
    with caplog.at_level(logging.WARNING, logger="qa"):
        again = load_encoder("wide", counted(calls))
    assert len(calls) == 2 and "damaged" in caplog.text
    np.testing.assert_allclose(again(HIGH, MASK)[0], expected, atol=1e-5)
    assert load_tokenizer(again.folder).encode("w5 w1999").ids == [5, 1999]


@pytest.mark.parametrize("victim", [META, RECORD, TOKENIZER])
def test_deleted_file_means_one_export_in_place(tmp_path, monkeypatch, capsys, victim):
    """Not an export on every start, nor a false "cannot write to the cache directory"."""
    monkeypatch.setenv("TANYA_ARTIKEL_CACHE", str(tmp_path))
    calls: list = []
    first = load_encoder("wide", counted(calls))
    (first.folder / victim).unlink()
    capsys.readouterr()
    again = load_encoder("wide", counted(calls))
    assert "cannot write" not in capsys.readouterr().err
    assert len(calls) == 2 and again.folder == first.folder and (again.folder / victim).is_file()
    load_encoder("wide", counted(calls))
    assert len(calls) == 2


def test_killed_exports_are_removed_at_start(tmp_path, monkeypatch):
    import os
    import time

    monkeypatch.setenv("TANYA_ARTIKEL_CACHE", str(tmp_path))
    killed, live = tmp_path / "onnx" / ".export-killed", tmp_path / "onnx" / ".export-live"
    for folder in (killed, live):
        folder.mkdir(parents=True)
        (folder / EMBEDDINGS).write_bytes(b"half a matrix")
    os.utime(killed, (time.time() - 7200, time.time() - 7200))
    load_encoder("tiny", tiny_build)
    assert not killed.exists() and live.exists()
    killed.mkdir()  # killed again; the model is exported by now, and its next load still clears it
    os.utime(killed, (time.time() - 7200, time.time() - 7200))
    calls: list = []
    load_encoder("tiny", counted(calls))
    assert not calls and not killed.exists() and live.exists()


CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, "tests")
from qa.runtime import in_child
from test_runtime import tiny_build

out = Path(sys.argv[1])
in_child(tiny_build, out)
print("torch" in sys.modules, sorted(p.name for p in out.iterdir()))
try:
    in_child(tiny_build, Path("/proc/no-such-folder"))  # the child cannot write there
except RuntimeError as exc:
    print(exc)
"""


def test_export_runs_in_a_child_process_that_returns_its_memory(tmp_path):
    """torch is imported by the export only, in the child: the parent never holds it."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], cwd=root, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    first, second = out.stdout.strip().splitlines()[:2]
    assert first.startswith("False") and GRAPH in first and EMBEDDINGS in first
    assert "failed" in second and "no-such-folder" in second


def test_a_script_without_a_main_guard_can_export(tmp_path):
    """Users write plain scripts; the export child must not run the caller's script again."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    script = tmp_path / "skrip.py"
    script.write_text(CHILD.replace("sys.argv[1]", repr(str(tmp_path / "out"))), encoding="utf-8")
    (tmp_path / "out").mkdir()
    out = subprocess.run([sys.executable, str(script)], cwd=root, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(root)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("False") == 1 and "failed" in out.stdout
