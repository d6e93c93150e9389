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
