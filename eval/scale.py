"""Collections at scale on this machine: build rate, index size, memory and latency.

    python eval/scale.py                                   # 853 real articles, then 100k and 1M passages
    python eval/scale.py --sizes 100000 --work /tmp/scale  # keep the collections in a folder of your choice

1. **Real build**: every article of ``--articles`` (JSON Lines) added with ``Collection.add_jsonl``:
   passages per second, embedding included (the figure the build of a real archive runs at).
2. **Synthetic archive** of each ``--sizes`` passage count: the real passages repeated under new
   article ids, each copy's vectors moved by a little noise (so no two are identical), added through
   the store (``qa.stores.local.LocalStore.add``) with those vectors: nothing is embedded again. The
   time to embed that many passages is extrapolated from the real build's rate (printed as such).
3. For each collection, in a fresh process: resident memory after opening and after the questions
   (peak), and latency of ``search`` and ``ask`` over ``--questions`` (the questions of a folder of
   ``<slug>.jsonl`` files).

Prints one JSON object per measurement and a Markdown table at the end.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
NEWS = ROOT.parent / "shared" / "data" / "news"

from qa import Collection  # noqa: E402
from qa.stores.base import NewArticle  # noqa: E402
from qa.stores.local import LocalStore  # noqa: E402
from qa.types import ArticleInfo  # noqa: E402

#: Measured in its own process, so the figures are those of a server that opens the collection.
PROBE = """
import json, sys, time
from pathlib import Path
import numpy as np
from eval.procstatus import status_mb
from qa import Collection

t0 = time.perf_counter()
col = Collection.open(sys.argv[1])
col.reader
opened_s = time.perf_counter() - t0
questions = json.loads(sys.argv[2])
col.ask(questions[0])  # warm-up
search, ask = [], []
for q in questions:
    t = time.perf_counter(); col.search(q, k=3); search.append(1000 * (time.perf_counter() - t))
    t = time.perf_counter(); col.ask(q); ask.append(1000 * (time.perf_counter() - t))
print(json.dumps({"open_s": round(opened_s, 2), "rss_after_open_mb": round(status_mb("VmRSS")),
                  "peak_rss_mb": round(status_mb("VmHWM")),
                  "search_ms_p50": round(float(np.percentile(search, 50)), 1),
                  "search_ms_p95": round(float(np.percentile(search, 95)), 1),
                  "ask_ms_p50": round(float(np.percentile(ask, 50)), 1),
                  "ask_ms_p95": round(float(np.percentile(ask, 95)), 1)}))
"""


def folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def probe(path: Path, questions: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, str(path), json.dumps(questions)], cwd=ROOT,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"probe of {path} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def real_build(articles: Path, folder: Path) -> tuple[dict, list[NewArticle]]:
    """Build the real collection; return its figures and its articles as stored (vectors, terms)."""
    col = Collection.create(folder)
    t0 = time.perf_counter()
    report = col.add_jsonl(articles, progress=False)
    seconds = time.perf_counter() - t0
    passages = col.store.passage_count()
    assert isinstance(col.store, LocalStore)
    stored = list(col.store.dump())
    col.close()
    figures = {"what": "real build", "articles": len(report.added), "passages": passages,
               "seconds": round(seconds, 1), "passages_per_s": round(passages / seconds, 1),
               "disk_mb": round(folder_mb(folder), 1)}
    return figures, stored


def synthetic(stored: list[NewArticle], folder: Path, sizes: list[int], config: dict, rate: float,
              questions: list[str], batch: int = 100_000) -> list[dict]:
    """Grow one synthetic collection through ``sizes`` passages, measuring at each."""
    rng = np.random.default_rng(0)
    store = LocalStore.create(folder, config)
    total, copy, out = 0, 0, []
    for size in sorted(sizes):
        t0 = time.perf_counter()
        while total < size:
            pending: list[NewArticle] = []
            count = 0
            while total + count < size and count < batch:
                for a in stored:
                    noise = rng.normal(0, 0.02, a.vectors.shape).astype(np.float32)
                    vectors = a.vectors + noise
                    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                    info = ArticleInfo(f"{a.info.id}~{copy}", a.info.title, a.info.date, a.info.url)
                    pending.append(NewArticle(info, a.text, f"{a.info.id}~{copy}", a.spans, a.terms, vectors))
                    count += len(a.spans)
                    if total + count >= size or count >= batch:
                        break
                copy += 1
            store.add(pending)
            total += count
        seconds = time.perf_counter() - t0
        store.close()
        figures = {"what": "synthetic", "passages": total, "articles": len(LocalStore.open(folder)),
                   "store_seconds": round(seconds, 1),
                   "embedding_hours_extrapolated": round(total / rate / 3600, 2),
                   "disk_mb": round(folder_mb(folder), 1),
                   "index_mb": round(sum(f.stat().st_size for f in folder.glob("dense-*.faiss")) / 2**20, 1),
                   **probe(folder, questions)}
        print(json.dumps(figures), flush=True)
        out.append(figures)
        store = LocalStore.open(folder)
    store.close()
    return out


def table(rows: list[dict]) -> str:
    lines = ["| collection | passages | disk MB | index MB | open s | RSS after open / peak MB | search p50 / p95 ms "
             "| ask p50 / p95 ms |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['what']} | {r['passages']:,} | {r['disk_mb']} | {r.get('index_mb', '-')} | {r['open_s']} "
                     f"| {r['rss_after_open_mb']} / {r['peak_rss_mb']} | {r['search_ms_p50']} / {r['search_ms_p95']} "
                     f"| {r['ask_ms_p50']} / {r['ask_ms_p95']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=Path, default=NEWS / "articles.jsonl", help="real articles, JSON Lines")
    ap.add_argument("--questions", type=Path, default=NEWS / "qa" / "dev", help="folder of <slug>.jsonl questions")
    ap.add_argument("--n-questions", type=int, default=50)
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000], help="synthetic passage counts")
    ap.add_argument("--work", type=Path, default=None, help="folder for the collections (default: a temporary one)")
    args = ap.parse_args(argv)
    if not args.articles.is_file():
        print(f"error: {args.articles} not found (the real articles: ../shared/data/news)", file=sys.stderr)
        return 2
    questions = [json.loads(line)["question"] for f in sorted(args.questions.glob("*.jsonl"))
                 for line in f.read_text(encoding="utf-8").splitlines() if line.strip()][: args.n_questions]
    work = args.work or Path(tempfile.mkdtemp(prefix="tanya-scale-"))
    try:
        real, stored = real_build(args.articles, work / "real")
        real.update(probe(work / "real", questions))
        print(json.dumps(real), flush=True)
        config = json.loads((work / "real" / "collection.json").read_text())
        config.pop("format", None)
        rows = [real] + synthetic(stored, work / "synthetic", args.sizes, config, real["passages_per_s"], questions)
        print(f"\nreal build: {real['passages']:,} passages of {real['articles']} articles in {real['seconds']} s "
              f"= {real['passages_per_s']} passages/s (embedding included); peak RSS of this process "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB\n")
        print(table(rows))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
