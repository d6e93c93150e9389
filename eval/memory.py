"""Memory and speed of indexing a large article: peak RSS while indexing, RSS once indexed, passages/s.

    python eval/memory.py                      # a 1 MB article from the TyDi QA / IDK-MRC passages
    python eval/memory.py --mb 0.2 --json mem.json
    python eval/memory.py --first-run          # RSS after the very first start (empty cache) and a later one

Runs in a fresh interpreter (models cached), so the figures are this article's alone: RSS after the
models are loaded, the process's peak RSS (VmHWM) by the end of indexing, the build rate, and RSS
once indexed and after answering a few questions (the reader loaded too). Figures only: no
thresholds here. RSS is this process's own, not the machine's.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DATA = ROOT.parent.parent / "shared" / "data" / "qa"
SOURCES = ("idk_mrc_train.json", "tydiqa_goldp_id_dev.json", "idk_mrc_valid.json", "idk_mrc_test.json",
           "facqa_train.json")
QUESTIONS = ["Kapan penghargaan diserahkan?", "Siapa presiden pertama Indonesia?", "Di mana ibu kota Jawa Barat?"]

CHILD = """
import gc, json, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, {root!r})
from eval.procstatus import status_mb as status

from qa import ArticleQA
from qa.settings import Settings

default = ArticleQA.default()  # as the app starts: both models loaded, the bundled article answered once
default.ask({questions!r}[0])
embedder, reader = default.embedder, default.reader
out = {{"models_loaded_rss_mb": status("VmRSS")}}
text = Path({article!r}).read_text(encoding="utf-8")
with tempfile.TemporaryDirectory() as tmp:
    t0 = time.perf_counter()
    qa = ArticleQA(text, settings=Settings(), index_dir=Path(tmp) / "idx", embedder=embedder, reader=reader)
    seconds = time.perf_counter() - t0
gc.collect()
out.update(passages=len(qa.passages), seconds=round(seconds, 1), passages_per_s=round(len(qa.passages) / seconds, 1),
           peak_rss_while_indexing_mb=status("VmHWM"), indexed_rss_mb=status("VmRSS"))
for q in {questions!r}:
    qa.ask(q)
gc.collect()
out.update(after_questions_rss_mb=status("VmRSS"), peak_rss_mb=status("VmHWM"))
print(json.dumps({{k: round(v) if isinstance(v, float) and k.endswith("_mb") else v for k, v in out.items()}}))
"""


START = """
import json, sys
sys.path.insert(0, {root!r})
from qa import ArticleQA
from eval.procstatus import status_mb

qa = ArticleQA.default()  # as the app starts: both models loaded, the bundled article answered once
qa.ask({question!r})
print(json.dumps({{"rss_mb": round(status_mb("VmRSS")), "peak_rss_mb": round(status_mb("VmHWM")),
                  "torch_loaded": "torch" in sys.modules}}))
"""


def first_run() -> dict:
    """RSS of a start with an empty cache (models converted and exported first) and of the next start.

    The conversion and the exports run in child processes, so the first start should hold about
    what a later one holds (their memory is the children's, returned when they end).
    """
    import os
    import tempfile

    code = START.format(root=str(ROOT.parent), question=QUESTIONS[0])
    out: dict = {}
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "TANYA_ARTIKEL_CACHE": cache}
        for name in ("first_start", "later_start"):
            run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT.parent,
                                 env=env)
            if run.returncode != 0:
                raise SystemExit(run.stderr[-3000:])
            out[name] = json.loads(run.stdout.strip().splitlines()[-1])
    out["difference_mb"] = out["first_start"]["rss_mb"] - out["later_start"]["rss_mb"]
    return out


def make_article(size_bytes: int, data: Path = DATA) -> str:
    """Distinct Indonesian passages (blank-line separated) until the article reaches ``size_bytes`` of UTF-8."""
    sys.path.insert(0, str(ROOT.parent))
    from qa.squad import load_squad

    parts, total, seen = [], 0, set()
    for name in SOURCES:
        if not (data / name).is_file():
            continue
        for example in load_squad(data / name):
            context = example.context.strip()
            if context in seen:
                continue
            seen.add(context)
            parts.append(context)
            total += len(context.encode("utf-8")) + 2
            if total >= size_bytes:
                return "\n\n".join(parts)
    raise SystemExit(f"not enough text in {data} for {size_bytes:,} bytes (found {total:,})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=1.0, help="article size in MB of UTF-8 text (default 1)")
    ap.add_argument("--data", type=Path, default=DATA, help=f"folder of SQuAD-format files (default {DATA})")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--first-run", action="store_true",
                    help="measure the first start with an empty cache against a later start instead")
    args = ap.parse_args(argv)
    if args.first_run:
        report = first_run()
        print(json.dumps(report, indent=2))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2) + "\n")
        return 0
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        article = Path(tmp) / "article.txt"
        article.write_text(make_article(int(args.mb * 1_000_000), args.data), encoding="utf-8")
        code = CHILD.format(root=str(ROOT.parent), article=str(article), questions=QUESTIONS)
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT.parent)
    if run.returncode != 0:
        raise SystemExit(run.stderr[-3000:])
    report = {"article_mb": args.mb, **json.loads(run.stdout.strip().splitlines()[-1])}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
