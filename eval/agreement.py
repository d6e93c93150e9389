"""How often two evaluation runs give the same answer to the same question (e.g. two backends).

    python eval/evaluate.py --articles DIR --collection koleksi/ --json faiss.json
    python eval/evaluate.py --articles DIR --collection koleksi.db --json milvus.json
    python eval/agreement.py faiss.json milvus.json

Same answer: the same text (or both declined) from the same article. Prints the share and the
questions that differ.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path


def answers(path: Path) -> dict[str, tuple]:
    rep = json.loads(path.read_text(encoding="utf-8"))
    if "answers" not in rep:
        raise SystemExit(f"error: {path} has no answers: make it with eval/evaluate.py --json")
    return {a["id"]: (a["text"], a["article"] if a["text"] is not None else None) for a in rep["answers"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("first", type=Path)
    ap.add_argument("second", type=Path)
    args = ap.parse_args(argv)
    a, b = answers(args.first), answers(args.second)
    shared = sorted(set(a) & set(b))
    if not shared:
        print("error: the two runs share no question", file=sys.stderr)
        return 2
    differ = [q for q in shared if a[q] != b[q]]
    print(json.dumps({"questions": len(shared), "same_answer": len(shared) - len(differ),
                      "same_answer_pct": round(100 * (len(shared) - len(differ)) / len(shared), 2),
                      "differ": [{"id": q, "first": a[q], "second": b[q]} for q in differ]},
                     indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # piped into `head`: stop quietly, as other tools do
    sys.exit(main())
