"""Memory with large articles: bounded batches, and indexing gives back what answering does not need.

The figures for a 1 MB article come from ``python eval/memory.py`` (README, "Speed and memory").
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest

from qa.runtime import EMBEDDINGS


def matrix_rss_kb() -> int:
    """Resident kB of this process's mappings of the word-embedding matrix (file pages included)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        if re.match(r"[0-9a-f]+-[0-9a-f]+ ", line):  # a mapping's header line ends with its file
            inside = line.rstrip().endswith(EMBEDDINGS)
        elif inside and line.startswith("Rss:"):
            total += int(line.split()[1])
    return total


def varied_passages(embedder, n: int, words: int) -> list[str]:
    """Passages of many different vocabulary pieces: they touch many rows of the matrix."""
    vocab = [p.lstrip("▁") for p in embedder.tokenizer.get_vocab() if p.lstrip("▁").isalpha() and len(p) > 3]
    rng = random.Random(7)
    return [" ".join(rng.sample(vocab, words)) for _ in range(n)]


def test_batches_are_bounded_by_tokens(embedder, monkeypatch):
    shapes: list[tuple[int, int]] = []
    real = embedder.encoder.__class__.__call__

    def spy(self, ids, mask):
        shapes.append(ids.shape)
        return real(self, ids, mask)

    monkeypatch.setattr(embedder.encoder.__class__, "__call__", spy)
    monkeypatch.setattr(embedder, "batch_tokens", 1024)
    long_ones = varied_passages(embedder, 12, 120)  # about 250 tokens each: 4 per batch
    short_ones = ["Banten meraih penghargaan."] * 40
    vectors = embedder.encode_passages(long_ones + short_ones)
    assert vectors.shape == (52, embedder.dim) and np.isfinite(vectors).all()
    assert all(rows * width <= 1024 for rows, width in shapes), shapes
    assert max(rows for rows, _ in shapes) == embedder.batch_size  # short passages still fill whole batches


@pytest.mark.skipif(not Path("/proc/self/smaps").is_file(), reason="needs Linux /proc")
def test_indexing_does_not_keep_the_matrix_pages(embedder, tmp_path):
    from qa import ArticleQA

    text = "\n".join(varied_passages(embedder, 150, 40))
    embedder.encoder.release_pages()
    before = matrix_rss_kb()
    embedder.encode_queries(text.splitlines())  # the same rows, without the release indexing does
    assert matrix_rss_kb() > before + 10_000, (before, matrix_rss_kb())
    embedder.encoder.release_pages()
    qa = ArticleQA(text, index_dir=tmp_path / "idx", embedder=embedder)
    assert len(qa.passages) > 20
    assert matrix_rss_kb() < before + 4_000, (before, matrix_rss_kb())
    assert qa.retrieve(qa.passages[3].text, k=1)[0].index == 3  # the pages come back when used
