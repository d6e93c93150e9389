"""eval/scale.py's probe: the figures of a fresh process that opens a collection."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from qa import Collection
from tests.test_collection import CABAI, KRL

ROOT = Path(__file__).resolve().parent.parent


def test_the_probe_reports_its_own_peak_memory_not_its_parents(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("scale", ROOT / "eval" / "scale.py")
    assert spec is not None and spec.loader is not None
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    with Collection.create(tmp_path / "koleksi") as col:
        col.add_text(CABAI, id="cabai")
        col.add_text(KRL, id="krl")
    ballast = np.ones(3 * 2**30 // 8)  # 3 GB resident in this process when the probe is started
    figures = scale.probe(tmp_path / "koleksi", ["Berapa harga cabai merah di Pekanbaru?"])
    del ballast
    assert 0 < figures["rss_after_open_mb"] <= figures["peak_rss_mb"] < 2500
    assert figures["ask_ms_p50"] > 0 and figures["search_ms_p50"] > 0
