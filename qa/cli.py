"""Command line: ``python -m qa ask|retrieve|index``. A thin layer over the public API."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from .errors import QAError


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m qa", description="Ask Indonesian questions about a news article. "
                                 "Without --article, the bundled article (Banten HAM award 2025) is used.")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--article", metavar="PATH", help="article file (.txt, .md or .html); default: bundled")
        p.add_argument("--json", action="store_true", help="print machine-readable JSON")

    ask = sub.add_parser("ask", help="answer a question from the article (answer, score, source sentence)",
                         description="Answer a question; prints the answer, its probability and its source.")
    ask.add_argument("question", help='the question, or "-" to answer one question per line of stdin')
    ask.add_argument("-k", "--top-k", type=int, default=None, help="passages to read (default 3)")
    common(ask)
    ret = sub.add_parser("retrieve", help="show the passages most relevant to a question",
                         description="List the top passages for a question (hybrid dense + BM25 retrieval).")
    ret.add_argument("question")
    ret.add_argument("-k", "--top-k", type=int, default=3, help="passages to show (default 3)")
    ret.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default="hybrid", help="retriever (default hybrid)")
    common(ret)
    idx = sub.add_parser("index", help="build (or verify) the article's index and report it",
                         description="Build the article's passage index, or reuse it if it is up to date.")
    common(idx)
    return ap


def _load(path: str | None) -> Any:
    from .pipeline import ArticleQA

    return ArticleQA.from_file(path) if path else ArticleQA.default()


def run(args: argparse.Namespace) -> int:
    qa = _load(args.article)
    if args.command == "index":
        info = {"index_dir": str(qa.index_dir), "passages": len(qa.passages), "article_sha256": qa.sha256,
                "embedder": qa.embedder.fingerprint}
        print(json.dumps(info, indent=2) if args.json else
              f"Index ready: {info['passages']} passages in {info['index_dir']}")
        return 0
    if args.command == "retrieve":
        passages = qa.retrieve(args.question, k=args.top_k, mode=args.mode)
        if args.json:
            print(json.dumps([asdict(p) for p in passages], ensure_ascii=False, indent=2))
        else:
            for rank, p in enumerate(passages, 1):
                print(f"[{rank}] score={p.score:.4f} chars {p.start}-{p.end}\n{p.text}\n")
        return 0
    if args.question != "-":
        _print_answer(qa, args.question, args)
        return 0
    failed = 0
    for line in sys.stdin:
        try:
            _print_answer(qa, line.rstrip("\n"), args)
        except QAError as exc:  # one bad line must not stop the batch
            failed += 1
            print(json.dumps({"error": str(exc)}) if args.json else f"error: {exc}", flush=True)
    return 1 if failed else 0


def _print_answer(qa: Any, question: str, args: argparse.Namespace) -> None:
    answer = qa.ask(question, k=args.top_k)
    source = qa.article[slice(*qa.sentence_at(answer.start, answer.end))] if answer.text else None
    if args.json:
        data = asdict(answer)
        data["source_sentence"] = source
        print(json.dumps(data, ensure_ascii=False, indent=None if args.question == "-" else 2), flush=True)
    elif answer.text is None:
        print(f"Tidak ada jawaban di artikel (yakin {answer.score:.0%}).")
        if answer.passage:
            print(f"Bagian terdekat: {answer.passage.text}")
    else:
        print(f"Jawaban: {answer.text}\nSkor: {answer.score:.2f}\nSumber: {source}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
