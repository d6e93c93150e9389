"""Calibration and threshold fitting of ``qa.training.export`` (pure numpy, fast)."""

import numpy as np

from qa.training.export import best_threshold, fit_calibration


def test_calibration_recovers_a_known_logistic_curve() -> None:
    rng = np.random.default_rng(0)
    margins = rng.normal(2.0, 4.0, 4000)
    f1 = 1 / (1 + np.exp(-(0.25 * margins - 1.5)))  # soft labels from a known curve
    scale, bias = fit_calibration(margins, f1)
    assert abs(scale - 0.25) < 1e-3 and abs(bias + 1.5) < 1e-3


def test_calibration_stays_finite_on_nearly_separable_margins() -> None:
    # wide, almost separable margins made plain Newton steps overshoot to scale ~1e9
    rng = np.random.default_rng(1)
    margins = np.concatenate([rng.normal(-30, 3, 300), rng.normal(25, 3, 300), [-50.0] * 20])
    f1 = np.concatenate([np.zeros(300), np.ones(300), np.zeros(20)])
    f1[:3] = 1.0  # a few right answers with low margins keep the optimum finite
    scale, bias = fit_calibration(margins, f1)
    assert np.isfinite(scale) and np.isfinite(bias) and 0 < scale < 10
    probs = 1 / (1 + np.exp(-(scale * margins + bias)))
    threshold, _ = best_threshold(probs, f1, f1 > 0)
    assert 0 < threshold < 1


def test_threshold_maximises_f1_with_declines() -> None:
    probs = np.array([0.9, 0.8, 0.3, 0.2])
    f1 = np.array([1.0, 1.0, 0.0, 0.0])
    answerable = np.array([True, True, False, False])
    threshold, score = best_threshold(probs, f1, answerable)
    assert 0.3 < threshold <= 0.8 and score == 1.0


def test_export_picks_calibrates_and_ships(tmp_path) -> None:
    """The whole export on a few validation questions: fp16 weights, checksum, calibration, threshold."""
    import json
    import shutil

    import pytest

    from qa.reader import META, WEIGHTS
    from qa.settings import DEFAULT_READER
    from qa.store import sha256_file
    from qa.training.export import main
    from qa.training.train import DATA_DIR

    if not (DATA_DIR / "idk_mrc_valid.json").is_file():
        pytest.skip(f"validation data not available in {DATA_DIR}")
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(DEFAULT_READER / WEIGHTS, run / "step7.safetensors")
    main(["--run", str(run), "--out", str(tmp_path / "out"), "--last", "1", "--limit", "12"])
    meta = json.loads((tmp_path / "out" / META).read_text())
    assert meta["checkpoint"] == "step7.safetensors" and meta["sha256"] == sha256_file(tmp_path / "out" / WEIGHTS)
    assert 0 < meta["threshold"] <= 1 and meta["calibration"]["scale"] > 0
    assert all(0 <= i < 12 for i in meta["int8_fp32_layers"])  # measured, not assumed


def test_int8_keeps_fp32_only_the_head_and_the_named_feed_forward_layers() -> None:
    from qa.reader import int8_exempt

    def node(layer: int, part: str) -> str:
        return f"/model/bert/encoder/layer.{layer}/{part}/MatMul"

    assert int8_exempt("/model/qa_outputs/MatMul", [])
    assert int8_exempt(node(4, "output/dense"), [0, 4, 5]) and not int8_exempt(node(3, "output/dense"), [0, 4, 5])
    assert not int8_exempt(node(4, "attention/output/dense"), [0, 4, 5])
    assert not int8_exempt(node(4, "intermediate/dense"), [4])
    assert int8_exempt(node(11, "output/dense"), None)  # readers exported before the measure: all kept
