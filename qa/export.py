"""Pick the best training checkpoint on the validation files, calibrate it and ship it compactly.

    python -m qa.export --run runs/reader --out qa/models/reader

For each ``step*.safetensors`` in the run folder: round the weights to fp16 (what is shipped),
export them for ONNX Runtime and read every validation question against its gold passage, as the
reader runs (fp32 by default, or int8), fit ``p = sigmoid(scale * margin + bias)`` so that p
estimates the F1 of the best span (soft-label logistic regression), and choose the no-answer
threshold that maximises overall validation F1.
The checkpoint with the best validation F1 wins.
Only IDK-MRC valid and TyDi QA Indonesian valid are read: never the test files.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .e5convert import bundled_embedder_dir, fingerprint, source_path
from .embedder import load_embedder
from .metrics import best_scores
from .reader import META, WEIGHTS, Reader, export_shipped
from .runtime import Encoder
from .settings import BUNDLED_EMBEDDER, Settings, cache_dir
from .squad import Example, load_squad
from .store import sha256_file
from .train import DATA_DIR
from .types import Passage

VALID_FILES = ("idk_mrc_valid.json", "tydiqa_id_valid.json")


def fit_calibration(margins: np.ndarray, f1: np.ndarray) -> tuple[float, float]:
    """Soft-label logistic regression by Newton's method (two parameters, convex).

    Steps are halved until the loss drops: a full Newton step can overshoot and diverge when the
    margins are nearly separable (seen on GPU sweep checkpoints: scale 3e9, threshold 1.0).
    """
    x = np.stack([margins, np.ones_like(margins)], axis=1)

    def loss(w: np.ndarray) -> float:
        z = x @ w
        return float(np.mean(np.logaddexp(0.0, z) - f1 * z))

    w = np.array([0.3, 0.0])
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -60, 60)))
        grad = x.T @ (p - f1)
        hess = (x * (p * (1 - p))[:, None]).T @ x + 1e-6 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        t, current = 1.0, loss(w)
        while t > 1e-6 and loss(w - t * step) > current:
            t /= 2
        w = w - t * step
        if np.abs(t * step).max() < 1e-8:
            break
    return float(w[0]), float(w[1])


def best_threshold(probs: np.ndarray, f1: np.ndarray, answerable: np.ndarray) -> tuple[float, float]:
    """Threshold maximising mean F1 when spans below it are declined (declining scores 1 if unanswerable)."""
    declined = (~answerable).astype(float)
    best_t, best_f1 = 0.5, -1.0
    for t in np.unique(np.concatenate([probs, [0.0, 1.0]])):
        score = float(np.where(probs >= t, f1, declined).mean())
        if score > best_f1:
            best_t, best_f1 = float(t), score
    return best_t, best_f1


def score_examples(reader: Reader, examples: list[Example], settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    margins, f1s = [], []
    for ex in tqdm(examples, desc="validate", mininterval=10):
        cands = reader.margins(ex.question, [Passage(ex.context, 0, len(ex.context), 1.0)], settings)
        if cands:
            m, a, b, _ = cands[0]
            margins.append(m)
            f1s.append(best_scores(ex.context[a:b], ex.answers)[1] if ex.answers else 0.0)
        else:
            margins.append(-50.0)
            f1s.append(0.0)
    return np.array(margins), np.array(f1s)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m qa.export", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, default=Path("runs/reader"), help="training output folder")
    ap.add_argument("--out", type=Path, default=Path("qa/models/reader"))
    ap.add_argument("--data", type=Path, default=DATA_DIR)
    ap.add_argument("--last", type=int, default=2, help="consider only the newest N checkpoints")
    ap.add_argument("--int8", action="store_true", help="calibrate the int8 reader (Settings.int8) instead of fp32")
    ap.add_argument("--limit", type=int, default=0, help="validate on the first N questions only (smoke tests)")
    args = ap.parse_args(argv)

    settings = Settings(int8=args.int8)
    examples = [ex for name in VALID_FILES for ex in load_squad(args.data / name)]
    if args.limit:
        examples = examples[: args.limit]
    answerable = np.array([bool(ex.answers) for ex in examples])
    base = str(bundled_embedder_dir(cache_dir()))
    embedder = load_embedder(BUNDLED_EMBEDDER)
    ckpts = sorted((p for p in args.run.glob("step*.safetensors") if re.fullmatch(r"step\d+", p.stem)),
                   key=lambda p: int(p.stem[4:]))  # not the .fp16 copies written below
    ckpts = ckpts[-args.last :]
    if not ckpts:
        raise SystemExit(f"no step*.safetensors checkpoints in {args.run}")
    results = []
    for ckpt in ckpts:
        from safetensors.torch import load_file, save_file

        half = {k: v.half().contiguous() for k, v in load_file(str(ckpt)).items()}
        tmp = args.run / f"{ckpt.stem}.fp16.safetensors"
        save_file(half, str(tmp))
        with tempfile.TemporaryDirectory() as folder:  # calibrate the model as it will run (ONNX Runtime)
            export_shipped(base, tmp, Path(folder), settings.int8)
            reader = Reader(Encoder(Path(folder), embedder.word_embeddings()), embedder.tokenizer,
                            pad_id=embedder.pad_id)
            margins, f1 = score_examples(reader, examples, settings)
        scale, bias = fit_calibration(margins, f1)
        probs = 1 / (1 + np.exp(-(scale * margins + bias)))
        threshold, overall = best_threshold(probs, f1, answerable)
        has = float(f1[answerable].mean())
        declined_ok = float((probs[~answerable] < threshold).mean()) if (~answerable).any() else float("nan")
        row = {"checkpoint": ckpt.name, "valid_f1": round(100 * overall, 2), "valid_answerable_f1_no_threshold":
               round(100 * has, 2), "valid_no_answer_accuracy": round(100 * declined_ok, 2),
               "scale": scale, "bias": bias, "threshold": threshold, "fp16": str(tmp)}
        print(json.dumps(row), flush=True)
        results.append(row)
    best = max(results, key=lambda r: r["valid_f1"])
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / WEIGHTS
    Path(best["fp16"]).replace(target)
    target.chmod(0o644)
    meta = {
        "base": BUNDLED_EMBEDDER, "base_fingerprint": fingerprint(source_path()), "sha256": sha256_file(target),
        "checkpoint": best["checkpoint"], "calibration": {"scale": best["scale"], "bias": best["bias"]},
        "threshold": best["threshold"], "validation": {k: best[k] for k in best if k.startswith("valid")},
        "validation_files": list(VALID_FILES), "all_checkpoints": [
            {k: r[k] for k in ("checkpoint", "valid_f1", "valid_no_answer_accuracy", "threshold")} for r in results],
    }
    (args.out / META).write_text(json.dumps(meta, indent=2) + "\n")
    print(f"shipped {best['checkpoint']} -> {target} ({target.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
