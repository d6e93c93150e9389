"""``qa.runtime``: export once, reuse, repair a damaged export, survive an unwritable cache.

A tiny randomly initialised BERT keeps these plumbing tests fast; the real models are checked
against torch in ``tests/test_reader.py``.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np

from qa.runtime import GRAPH, export_graph, load_encoder, save_embeddings

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

    from qa.runtime import META

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
