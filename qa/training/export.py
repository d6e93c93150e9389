"""Pick the best training checkpoint on the validation files, calibrate it and ship it compactly.

    python -m qa.training.export --run runs/reader --out qa/models/reader

For each ``step*.safetensors`` in the run folder: round the weights to fp16 (what is shipped),
export them for ONNX Runtime and read every validation question as the reader runs (fp32 by default,
or int8) in three conditions: the real news articles of the dev split (``../shared/data/news/qa/dev``,
retrieve then read), the news condition of :mod:`qa.training.validation` (FacQA valid
pseudo-articles, half of the questions unanswerable), and each question against its gold passage
(IDK-MRC, TyDi QA and FacQA valid). Fit ``p = sigmoid(scale * margin + bias)`` so that p estimates
the F1 of the best span (soft-label logistic regression), and choose the no-answer threshold that
maximises validation F1, the conditions weighted by ``SHARES`` (real articles half). The checkpoint
with the best validation F1 wins. Which feed-forward layers stay fp32 under int8 is measured here
too (:func:`outlier_layers`). Only validation files are read: never the test files.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from ..e5convert import bundled_embedder_dir, fingerprint, source_path
from ..embedder import Embedder, load_embedder
from ..metrics import best_scores
from ..pipeline import ArticleQA
from ..reader import META, WEIGHTS, Reader, assemble, export_shipped
from ..runtime import Encoder
from ..settings import BUNDLED_EMBEDDER, Settings, cache_dir
from ..squad import Example, load_squad
from ..store import sha256_file
from ..text import read_article
from ..types import Passage
from .mix import detokenized
from .news import NEWS_DIR, annotated_articles
from .train import DATA_DIR
from .validation import GOLD_VALID, NEWS_VALID, pseudo_articles


def fit_calibration(margins: np.ndarray, f1: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, float]:
    """Soft-label logistic regression by Newton's method (two parameters, convex), optionally weighted.

    Steps are halved until the loss drops: a full Newton step can overshoot and diverge when the
    margins are nearly separable (seen on GPU sweep checkpoints: scale 3e9, threshold 1.0).
    """
    x = np.stack([margins, np.ones_like(margins)], axis=1)
    w8 = np.ones_like(margins) if weights is None else weights / weights.mean()

    def loss(w: np.ndarray) -> float:
        z = x @ w
        return float(np.mean(w8 * (np.logaddexp(0.0, z) - f1 * z)))

    w = np.array([0.3, 0.0])
    for _ in range(100):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -60, 60)))
        grad = x.T @ (w8 * (p - f1))
        hess = (x * (w8 * p * (1 - p))[:, None]).T @ x + 1e-6 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        t, current = 1.0, loss(w)
        while t > 1e-6 and loss(w - t * step) > current:
            t /= 2
        w = w - t * step
        if np.abs(t * step).max() < 1e-8:
            break
    return float(w[0]), float(w[1])


def best_threshold(probs: np.ndarray, f1: np.ndarray, answerable: np.ndarray,
                   weights: np.ndarray | None = None) -> tuple[float, float]:
    """Threshold maximising (weighted) mean F1 when spans below it are declined (declining scores 1 if
    unanswerable)."""
    declined = (~answerable).astype(float)
    w8 = np.ones_like(probs) if weights is None else weights
    best_t, best_f1 = 0.5, -1.0
    for t in np.unique(np.concatenate([probs, [0.0, 1.0]])):
        score = float(np.average(np.where(probs >= t, f1, declined), weights=w8))
        if score > best_f1:
            best_t, best_f1 = float(t), score
    return best_t, best_f1


@dataclass
class Case:
    """One validation question and what the reader reads for it; ``group`` names its condition."""

    group: str
    example: Example
    passages: list[Passage]


#: A feed-forward layer stays fp32 under int8 when its largest input value is more than this many
#: times its 99.9th percentile (v6: 18-37 in layers 0, 4 and 5, at most 10 in the others).
OUTLIER_RATIO = 12.0


def outlier_layers(base_dir: str, weights: Path, embedder: Embedder, cases: list[Case], n: int = 48) -> list[int]:
    """Layers whose feed-forward output projection keeps fp32 under int8 (:func:`qa.reader.int8_exempt`).

    ONNX Runtime quantises a product's activations with one scale per batch, so a few outliers in a
    layer's GELU outputs flatten all its other values. With v6, int8 everywhere cost 0.7 validation
    F1; fp32 kept only where outliers are large cost about 0.1 and read 22% faster than fp32 in every
    layer (docs/experiments.md). Measured on the first passage of ``n`` validation cases spread over all.
    """
    import torch

    model = assemble(base_dir, weights)
    peaks: dict[int, list[tuple[float, float]]] = {}

    def watch(i: int) -> Callable[..., None]:
        def hook(_module: object, inputs: tuple[Any, ...], _output: object) -> None:
            x = inputs[0].detach().abs().flatten()
            peaks.setdefault(i, []).append((float(x.max()), float(torch.quantile(x, 0.999))))
        return hook

    handles = [layer.output.dense.register_forward_hook(watch(i)) for i, layer in enumerate(model.bert.encoder.layer)]
    try:
        for case in cases[:: max(1, len(cases) // n)][:n]:
            ids = embedder.tokenizer.encode(case.example.question, case.passages[0].text).ids[:Settings.window_tokens]
            embeds = torch.from_numpy(np.asarray(embedder.word_embeddings()[ids], dtype=np.float32))[None]
            with torch.no_grad():
                model(inputs_embeds=embeds, attention_mask=torch.ones(1, len(ids), dtype=torch.long))
    finally:
        for h in handles:
            h.remove()
    return [i for i, p in sorted(peaks.items())
            if max(m for m, _ in p) > OUTLIER_RATIO * float(np.mean([q for _, q in p]))]


def gold_cases(data_dir: Path) -> list[Case]:
    """Each validation question against its own passage (FacQA de-tokenised, as news reads)."""
    out = []
    for name in GOLD_VALID:
        for ex in load_squad(data_dir / name):
            ex = detokenized(ex) if name == NEWS_VALID else ex
            out.append(Case(name.removesuffix(".json"), ex, [Passage(ex.context, 0, len(ex.context), 1.0)]))
    return out


def news_cases(data_dir: Path, embedder: Embedder, settings: Settings) -> list[Case]:
    """FacQA valid pseudo-articles: retrieve ``top_k`` passages like ``ArticleQA.ask`` (the reader's
    part runs per checkpoint)."""
    out = []
    with tempfile.TemporaryDirectory() as folder:
        for i, art in enumerate(tqdm(pseudo_articles(data_dir), desc="news articles", mininterval=10)):
            qa = ArticleQA(art.text, settings=settings, index_dir=Path(folder) / str(i), embedder=embedder)
            out += [Case("news_condition", ex, qa.retrieve(ex.question)) for ex in art.questions]
    return out


def real_cases(news_dir: Path, embedder: Embedder, settings: Settings) -> list[Case]:
    """The annotated real articles of the dev split, indexed and retrieved as ``ArticleQA.from_file`` does."""
    out = []
    with tempfile.TemporaryDirectory() as folder:
        for art in tqdm(annotated_articles(news_dir / "qa" / "dev"), desc="dev articles", mininterval=10):
            title, text = read_article(news_dir / "qa" / "dev" / f"{art.slug}.txt")
            qa = ArticleQA(text, title=title, settings=settings, index_dir=Path(folder) / art.slug, embedder=embedder)
            out += [Case("news_dev", Example(q.id, q.question, "", q.answers), qa.retrieve(q.question))
                    for q in art.questions]
    return out


def score_cases(reader: Reader, cases: list[Case], settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """The best span's margin and its F1 for every case (F1 0 for any span of an unanswerable one)."""
    margins, f1s = [], []
    for case in tqdm(cases, desc="validate", mininterval=10):
        cands = reader.margins(case.example.question, case.passages, settings)
        if cands:
            m, a, b, p = cands[0]
            margins.append(m)
            text = case.passages[p].text[a:b]
            f1s.append(best_scores(text, case.example.answers)[1] if case.example.answers else 0.0)
        else:
            margins.append(-50.0)
            f1s.append(0.0)
    return np.array(margins), np.array(f1s)


#: Share of the calibration and checkpoint choice per condition: real articles first; the rest keeps
#: the reader honest on the FacQA pseudo-articles and on Wikipedia and sentence passages.
SHARES = {"news_dev": 0.5, "news_condition": 0.25, "gold": 0.25}


def group_weights(groups: np.ndarray) -> np.ndarray:
    """Each condition present weighs its share (renormalised), equally per question inside it."""
    kinds = np.array([g if g in SHARES else "gold" for g in groups.tolist()])
    present = {k: v for k, v in SHARES.items() if (kinds == k).any()}
    total = sum(present.values())
    w = np.array([present[k] / total / (kinds == k).sum() for k in kinds.tolist()])
    return w * len(groups)


def group_report(groups: np.ndarray, probs: np.ndarray, f1: np.ndarray, answerable: np.ndarray,
                 threshold: float) -> dict[str, dict[str, float | None]]:
    out = {}
    for g in dict.fromkeys(groups.tolist()):
        sel = groups == g
        final = np.where(probs[sel] >= threshold, f1[sel], (~answerable[sel]).astype(float))
        ans, un = answerable[sel], ~answerable[sel]

        def pct(x: np.ndarray) -> float | None:
            return round(100 * float(x.mean()), 2) if x.size else None

        out[g] = {"n": int(sel.sum()), "f1": pct(final), "answerable_f1": pct(final[ans]),
                  "answerable_f1_always": pct(f1[sel][ans]), "no_answer_accuracy": pct(final[un])}
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m qa.training.export", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, default=Path("runs/reader"), help="training output folder")
    ap.add_argument("--out", type=Path, default=Path("qa/models/reader"))
    ap.add_argument("--data", type=Path, default=DATA_DIR)
    ap.add_argument("--last", type=int, default=2, help="consider only the newest N checkpoints")
    ap.add_argument("--int8", action="store_true", help="calibrate the int8 reader (Settings.int8) instead of fp32")
    ap.add_argument("--limit", type=int, default=0, help="validate on the first N questions only (smoke tests)")
    ap.add_argument("--gold-only", action="store_true", help="skip the news conditions (gold passages only)")
    ap.add_argument("--news", type=Path, default=NEWS_DIR, help="real-article folder (its dev split is read)")
    args = ap.parse_args(argv)

    settings = Settings(int8=args.int8)
    embedder = load_embedder(BUNDLED_EMBEDDER)
    cases = gold_cases(args.data)
    if not args.gold_only:
        cases += news_cases(args.data, embedder, settings)
        if (args.news / "qa" / "dev").is_dir():
            cases += real_cases(args.news, embedder, settings)
        else:
            print(f"warning: {args.news / 'qa' / 'dev'} not found: calibrating without real articles")
    if args.limit:
        cases = cases[: args.limit]
    groups = np.array([c.group for c in cases])
    answerable = np.array([bool(c.example.answers) for c in cases])
    weights = group_weights(groups)
    base = str(bundled_embedder_dir(cache_dir()))
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
        fp32_layers = outlier_layers(base, tmp, embedder, cases)
        with tempfile.TemporaryDirectory() as folder:  # calibrate the model as it will run (ONNX Runtime)
            export_shipped(base, tmp, Path(folder), settings.int8, fp32_layers)
            reader = Reader(Encoder(Path(folder), embedder.word_embeddings()), embedder.tokenizer,
                            pad_id=embedder.pad_id)
            margins, f1 = score_cases(reader, cases, settings)
        scale, bias = fit_calibration(margins, f1, weights)
        probs = 1 / (1 + np.exp(-(scale * margins + bias)))
        threshold, overall = best_threshold(probs, f1, answerable, weights)
        row = {"checkpoint": ckpt.name, "valid_f1": round(100 * overall, 2),
               "groups": group_report(groups, probs, f1, answerable, threshold),
               "scale": scale, "bias": bias, "threshold": threshold, "int8_fp32_layers": fp32_layers,
               "fp16": str(tmp)}
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
        "threshold": best["threshold"], "int8_fp32_layers": best["int8_fp32_layers"],
        "validation": {"f1": best["valid_f1"], **best["groups"]},
        "validation_files": [*GOLD_VALID, f"{NEWS_VALID} (pseudo-articles)",
                             *(["news dev split (real articles)"] if "news_dev" in groups else [])],
        "all_checkpoints": [
            {k: r[k] for k in ("checkpoint", "valid_f1", "threshold")} for r in results],
    }
    (args.out / META).write_text(json.dumps(meta, indent=2) + "\n")
    print(f"shipped {best['checkpoint']} -> {target} ({target.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
