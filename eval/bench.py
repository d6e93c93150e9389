"""Speed and memory benchmark: the project's ``ask()`` against a plain fp32 one-forward peer.

    python eval/bench.py                 # everything (about 15 minutes on 2 cores)
    python eval/bench.py --skip-index --skip-accuracy

The peer is the usual way to do this without the project: sentence-transformers query embedding
and FAISS dense top-3 over the same index, then one batched fp32 torch forward of a separately
loaded copy of the same reader over the three passages and an argmax span. The project (ONNX
Runtime) runs twice, as shipped (int8 reader) and with the fp32 reader, so the int8 lever is
measured on its own. All contenders run in this process,
interleaved, so machine noise hits them alike. Cold start and peak memory are measured in fresh
processes (models cached, index persisted). The index build uses TyDi QA / IDK-MRC passages from
``../shared/data/qa``. The accuracy check compares F1 of the unoptimised model (torch eager fp32)
with the project's ONNX Runtime fp32 and int8 readers on TyDi QA dev (reader mode) and on the
article's pairs. Figures only: there are no pass/fail thresholds here.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from qa.settings import BUNDLED_EMBEDDER, DEFAULT_ARTICLE, DEFAULT_INDEX_DIR, DEFAULT_READER, Settings  # noqa: E402

DATA = ROOT.parent.parent / "shared" / "data" / "qa"
QUESTION = "Kapan penghargaan diserahkan?"


def questions() -> list[str]:
    return [json.loads(line)["question"] for line in (ROOT / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]


class Peer:
    """sentence-transformers query embedding + FAISS top-3 + one fp32 torch forward + argmax span.

    The usual way to do this without the project, on the same models and the same FAISS index: no
    ONNX Runtime, no calibration, no shared matrices.
    """

    def __init__(self, qa) -> None:
        import torch
        from safetensors.torch import load_file
        from sentence_transformers import SentenceTransformer
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        from qa.embedder import resolve_model_path

        self.torch, self.qa = torch, qa
        base = resolve_model_path(qa.settings.embedder)
        self.embedder = SentenceTransformer(base, device="cpu", local_files_only=True)
        self.tok = AutoTokenizer.from_pretrained(base)
        model = AutoModelForQuestionAnswering.from_pretrained(base)
        weights = Path(qa.settings.reader) / "reader.safetensors"
        model.load_state_dict({k: v.float() for k, v in load_file(str(weights)).items()}, strict=False)
        self.model = model.eval()

    def ask(self, question: str) -> str:
        vector = self.embedder.encode([question], prompt_name="query", normalize_embeddings=True)
        _, ids = self.qa.retriever.dense.index.search(np.asarray(vector, dtype=np.float32), 3)
        passages = [self.qa.passages[i] for i in ids[0] if i >= 0]
        enc = self.tok([question] * len(passages), [p.text for p in passages], truncation="only_second",
                       max_length=256, padding=True, return_tensors="pt", return_offsets_mapping=True)
        offsets = enc.pop("offset_mapping")
        with self.torch.inference_mode():
            out = self.model(**enc)
        best, text, longest = -1e9, "", self.qa.settings.max_answer_tokens
        for w in range(len(passages)):
            seq = enc.sequence_ids(w)
            s, e = out.start_logits[w].numpy(), out.end_logits[w].numpy()
            ctx = [i for i, sid in enumerate(seq) if sid == 1]
            i = max(ctx, key=lambda t: s[t])
            j = max((t for t in ctx if i <= t < i + longest), key=lambda t: e[t])
            if s[i] + e[j] > best:
                best = s[i] + e[j]
                text = passages[w].text[int(offsets[w][i][0]):int(offsets[w][j][1])]
        return text


def torch_reader():
    """The shipped reader through torch eager fp32 (the unoptimised model), with the project's decoding."""
    import torch

    from qa import Reader
    from qa.embedder import load_embedder, resolve_model_path
    from qa.reader import WEIGHTS, assemble

    shipped = Reader.default()
    model = assemble(resolve_model_path(BUNDLED_EMBEDDER), DEFAULT_READER / WEIGHTS)
    matrix = torch.from_numpy(np.array(load_embedder().word_embeddings()))

    def forward(ids: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
        with torch.inference_mode():
            out = model(inputs_embeds=matrix[torch.from_numpy(ids)], attention_mask=torch.from_numpy(mask))
        return [out.start_logits.numpy(), out.end_logits.numpy()]

    return Reader(forward, shipped.tokenizer, pad_id=shipped.pad_id, scale=shipped.scale, bias=shipped.bias,
                  threshold=shipped.threshold, name=shipped.name + "/torch")


def percentile(xs: list[float], q: float) -> float:
    return round(float(np.percentile(np.array(xs) * 1000, q)), 1)


def warm_latency(repeats: int) -> dict:
    """The project as shipped (int8 reader), the same with the fp32 reader, and the peer, interleaved."""
    from qa import ArticleQA

    contenders: dict[str, Callable[[str], object]] = {
        "project": ArticleQA.default().ask, "project_fp32": ArticleQA.default(int8=False).ask}
    contenders["peer"] = Peer(ArticleQA.default()).ask
    qs = questions()
    for q in qs[:3]:
        for ask in contenders.values():
            ask(q)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for q in qs:
            for name, ask in contenders.items():
                t0 = time.perf_counter()
                ask(q)
                times[name].append(time.perf_counter() - t0)
    return {"questions": len(qs) * repeats,
            **{f"{name}_ms": {"p50": percentile(ts, 50), "p95": percentile(ts, 95)} for name, ts in times.items()}}


COLD = """
import sys, time
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
if {peer}:
    from bench import Peer
    from qa import ArticleQA
    qa = ArticleQA.default(); Peer(qa).ask({q!r})
else:
    from qa import ArticleQA
    ArticleQA.default().ask({q!r})
from procstatus import status_mb
print(time.perf_counter() - t0, status_mb("VmHWM"))
"""


def cold_start(peer: bool) -> dict:
    """A fresh interpreter, from start to the first answer (models cached, index persisted)."""
    code = COLD.format(root=str(ROOT), peer=peer, q=QUESTION)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=ROOT.parent)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    _, rss = map(float, out.stdout.split()[-2:])
    return {"seconds": round(time.perf_counter() - t0, 2), "peak_rss_mb": round(rss)}


def index_build(n: int) -> dict:
    from qa import ArticleQA
    from qa.squad import load_squad

    contexts: list[str] = []
    for name in ("tydiqa_id_train.json", "idk_mrc_train.json", "tydiqa_goldp_id_dev.json"):
        if (DATA / name).is_file():
            contexts += [e.context.strip() for e in load_squad(DATA / name)]
    contexts = list(dict.fromkeys(contexts))
    if not contexts:
        return {"skipped": f"no TyDi QA data in {DATA}"}
    text = "\n\n".join(contexts)
    with tempfile.TemporaryDirectory() as tmp:
        from qa.settings import Settings

        t0 = time.perf_counter()
        qa = ArticleQA(text, settings=Settings(), index_dir=Path(tmp) / "idx")
        seconds = time.perf_counter() - t0
    count = len(qa.passages)
    return {"passages": count, "seconds": round(seconds, 1), "passages_per_s": round(count / seconds, 1),
            "note": f"{len(contexts)} distinct TyDi QA / IDK-MRC passages chunked into {count} passages"
            + ("" if count >= n else f" (fewer than the {n} asked for)")}


def accuracy(limit: int) -> dict:
    """F1 of the unoptimised model (torch eager fp32) against the shipped ONNX Runtime fp32 and int8 readers."""
    from evaluate import Item, load_pairs, run_open, run_reader, scores_at

    from qa import ArticleQA, Reader
    from qa.squad import load_squad

    out: dict = {}
    tydi = DATA / "tydiqa_goldp_id_dev.json"
    readers: dict[str, Callable[[], Reader]] = {
        "torch_fp32": torch_reader, "onnx_fp32": Reader.default, "onnx_int8": lambda: Reader.default(int8=True)}
    for label, make in readers.items():
        reader, row = make(), {}
        if tydi.is_file():
            items = [Item(e.id, e.question, e.answers, e.context) for e in load_squad(tydi)[: limit or None]]
            row["tydiqa_dev_reader_f1"] = scores_at(run_reader(reader, items), reader.threshold)["f1"]
        qa = ArticleQA(DEFAULT_ARTICLE.read_text(encoding="utf-8"), settings=Settings(no_answer_threshold=0.0),
                       index_dir=DEFAULT_INDEX_DIR, reader=reader)
        row["pairs_f1"] = scores_at(run_open(qa, load_pairs(ROOT / "pairs.jsonl"), qa.settings.top_k),
                                   reader.threshold)["f1"]
        out[label] = row
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3, help="passes over the article's questions (default 3)")
    ap.add_argument("--skip-index", action="store_true", help="skip the 10,000-passage index build")
    ap.add_argument("--skip-accuracy", action="store_true", help="skip the torch/onnx/int8 F1 check (about 6 minutes)")
    ap.add_argument("--accuracy-limit", type=int, default=0, help="TyDi QA dev questions for the F1 check (0 = all)")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    args = ap.parse_args(argv)
    report: dict = {"warm": warm_latency(args.repeats)}
    report["cold_start"] = {"project": cold_start(False), "peer": cold_start(True)}
    if not args.skip_index:
        report["index_build"] = index_build(10_000)
    if not args.skip_accuracy:
        report["accuracy"] = accuracy(args.accuracy_limit)
    w, c = report["warm"], report["cold_start"]
    report["ratio_project_over_peer"] = {
        "warm_p50": round(w["project_ms"]["p50"] / w["peer_ms"]["p50"], 2),
        "warm_p95": round(w["project_ms"]["p95"] / w["peer_ms"]["p95"], 2),
        "cold_start": round(c["project"]["seconds"] / c["peer"]["seconds"], 2),
        "peak_rss": round(c["project"]["peak_rss_mb"] / c["peer"]["peak_rss_mb"], 2),
    }
    report["this_process_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
