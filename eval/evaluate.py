"""Evaluate tanya-artikel on Q&A pairs about an article, or on a SQuAD-format dataset.

    python eval/evaluate.py                                   # bundled article + eval/pairs.jsonl
    python eval/evaluate.py --pairs my.jsonl --article my.txt
    python eval/evaluate.py --squad ../shared/data/qa/tydiqa_goldp_id_dev.json --mode reader
    python eval/evaluate.py --squad ../shared/data/qa/tydiqa_goldp_id_dev.json --mode open
    python eval/evaluate.py --validation                      # validation files, news condition included
    python eval/evaluate.py --articles ../shared/data/news/qa/dev   # real articles: <slug>.txt + <slug>.jsonl
    python eval/evaluate.py --articles ../shared/data/news/qa/dev --collection koleksi/   # asked across a collection

Only the public ``qa`` API is used. Each question is answered once with the no-answer threshold
disabled; the configured threshold is then applied to the recorded score, which also gives the
threshold sweep for ``--plot`` at no extra cost (reading further, ``--top-k-more``, is decided at the
reader's own threshold, as in the product, so other points of the sweep keep those reads).
Metrics follow SQuAD v2 (see ``qa.metrics``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from qa import ArticleQA, Collection, Passage, QAError, Reader, Settings
from qa.collection import INDEXING
from qa.metrics import best_scores, normalize_answer
from qa.squad import Example, load_squad, read_pairs
from qa.training.mix import detokenized
from qa.training.news import annotated_articles
from qa.training.train import DATA_DIR
from qa.training.validation import GOLD_VALID, NEWS_VALID, pseudo_articles
from qa.types import CONFIDENT

ROOT = Path(__file__).resolve().parent
DEFAULT_PAIRS = ROOT / "pairs.jsonl"


@dataclass
class Item:
    id: str
    question: str
    answers: list[str]
    context: str | None = None
    type: str = ""


@dataclass
class Result:
    item: Item
    text: str | None  # best span regardless of threshold
    score: float
    latency_ms: float
    rank: int | None = None  # 1-based rank of the first retrieved passage holding a gold answer
    read: bool = True  # a passage the reader read holds a gold answer (always, reading a gold passage)
    article: str | None = None  # across a collection: the id of the article the best span comes from


def load_pairs(path: Path) -> list[Item]:
    items = [Item(p.id, p.question, p.answers, type=p.type) for p in read_pairs(path)]
    if not items:
        raise QAError(f"{path}: no Q&A pairs found")
    return items


def writable(path: Path | None, flag: str) -> None:
    """Refuse an output path that cannot be written before the run, not after it."""
    if path is None:
        return
    if path.is_dir() or not path.parent.is_dir():
        raise QAError(f"{flag} {path}: not a file in an existing folder")
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise QAError(f"{flag} {path}: cannot be written ({exc.strerror or exc})") from exc
    if not existed:
        path.unlink()


def probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} is not a probability from 0 to 1")
    return value


def count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def gold_rank(passages: list[Passage], answers: list[str]) -> int | None:
    golds = [normalize_answer(a) for a in answers if normalize_answer(a)]
    for rank, p in enumerate(passages, 1):
        text = normalize_answer(p.text)
        if any(g in text for g in golds):
            return rank
    return None


def passages_read(score: float, top_k: int, settings: Settings, reader_threshold: float) -> int:
    """How many passages were read: ``top_k_more`` more below the reader's threshold (``Reader.read_passages``)."""
    return top_k + (settings.top_k_more if score < reader_threshold else 0)


def run_open(qa: ArticleQA, items: list[Item], top_k: int, progress: bool = True) -> list[Result]:
    out = []
    for it in tqdm(items, desc="questions", mininterval=2, disable=not progress):
        passages = qa.retrieve(it.question, k=max(5, top_k + qa.settings.top_k_more))
        t0 = time.perf_counter()
        answer = qa.ask(it.question, k=top_k)
        ms = 1000 * (time.perf_counter() - t0)
        best = answer.alternatives[0] if answer.text is None and answer.alternatives else answer
        score = best.score if best.text is not None else 0.0
        rank = gold_rank(passages, it.answers) if it.answers else None
        read = passages_read(score, top_k, qa.settings, qa.reader.threshold)
        out.append(Result(it, best.text, score, ms, rank, rank is not None and rank <= read))
    return out


def run_articles(folder: Path, settings: dict, top_k: int, limit: int = 0) -> tuple[list[Result], ArticleQA]:
    """Every ``<slug>.txt`` of ``folder`` through ``ArticleQA.from_file``, asked its ``<slug>.jsonl``;
    also returns the last article's ``ArticleQA`` (its models name the run)."""
    results: list[Result] = []
    for art in tqdm(annotated_articles(folder), desc="articles", mininterval=5):
        qa = ArticleQA.from_file(folder / f"{art.slug}.txt", **settings)
        items = [Item(q.id, q.question, q.answers, type=q.type) for q in art.questions]
        results += run_open(qa, items, top_k, progress=False)
        if limit and len(results) >= limit:
            break
    return results[: limit or None], qa


def run_collection(path: str, folder: Path, settings: dict, top_k: int, limit: int = 0
                   ) -> tuple[list[Result], Collection, dict]:
    """Every question of ``folder`` asked of the whole collection at ``path``, after the folder's articles
    are added to it (ids: their slugs; already stored ones are kept). Also returns article hit@1/@3: the
    share of answerable questions where a passage of the question's own article is first / among 3."""
    col = Collection.open(path, **{k: v for k, v in settings.items() if k not in INDEXING})
    articles = annotated_articles(folder)
    ids = {}
    for art in articles:
        ids[art.slug] = col.add_file(folder / f"{art.slug}.txt", id=art.slug)
    results: list[Result] = []
    hits: list[int | None] = []
    for art in tqdm(articles, desc="articles", mininterval=5):
        for q in art.questions:
            passages = col.search(q.question, k=max(5, top_k + col.settings.top_k_more))
            own = [p for p in passages if p.article and p.article.id == ids[art.slug]]
            t0 = time.perf_counter()
            answer = col.ask(q.question, k=top_k)
            ms = 1000 * (time.perf_counter() - t0)
            best = answer.alternatives[0] if answer.text is None and answer.alternatives else answer
            rank = gold_rank(own, q.answers) if q.answers else None
            if q.answers:
                hits.append(next((i for i, p in enumerate(passages, 1) if p in own), None))
            score = best.score if best.text is not None else 0.0
            read = passages_read(score, top_k, col.settings, col.reader.threshold)
            results.append(Result(Item(q.id, q.question, q.answers, type=q.type), best.text, score, ms, rank,
                                  rank is not None and rank <= read, best.article.id if best.article else None))
        if limit and len(results) >= limit:
            break
    hit = {f"@{k}": round(100 * float(np.mean([h is not None and h <= k for h in hits])), 2) for k in (1, 3)}
    return results[: limit or None], col, {**hit, "questions": len(hits), "articles": len(col)}


def by_type(results: list[Result], threshold: float) -> dict[str, dict]:
    """Answerable F1 per question type (with the threshold and always answering)."""
    out = {}
    for kind in sorted({r.item.type for r in results if r.item.answers and r.item.type}):
        sel = [r for r in results if r.item.answers and r.item.type == kind]
        out[kind] = {"n": len(sel), "f1": scores_at(sel, threshold)["answerable"]["f1"],
                     "f1_always_answering": scores_at(sel, 0.0)["answerable"]["f1"]}
    return out


def confident_answers(results: list[Result], threshold: float) -> dict:
    """How many answers are shown as "yakin" (score >= ``CONFIDENT``) and the share of them that is right
    (F1 >= 0.5 against the best gold answer; any answer to an unanswerable question is wrong)."""
    shown = [r for r in results if r.text is not None and r.score >= max(threshold, CONFIDENT)]
    right = [r for r in shown if r.item.answers and best_scores(r.text, r.item.answers)[1] >= 0.5]
    return {"n": len(shown), "right": len(right),
            "precision": round(100 * len(right) / len(shown), 2) if shown else None}


def run_reader(reader: Reader, items: list[Item]) -> list[Result]:
    settings = Settings(no_answer_threshold=0.0)
    out = []
    for it in tqdm(items, desc="questions", mininterval=2):
        t0 = time.perf_counter()
        answer = reader.read(it.question, it.context or "", settings)
        out.append(Result(it, answer.text, answer.score if answer.text else 0.0, 1000 * (time.perf_counter() - t0)))
    return out


def scores_at(results: list[Result], threshold: float) -> dict:
    em, f1, ans_f1, ans_em, declined_ok = [], [], [], [], []
    for r in results:
        pred = r.text if r.text is not None and r.score >= threshold else None
        e, f = best_scores(pred, r.item.answers)
        em.append(e)
        f1.append(f)
        if r.item.answers:
            ans_em.append(e)
            ans_f1.append(f)
        else:
            declined_ok.append(float(pred is None))

    def pct(xs: list[float]) -> float | None:
        return round(100 * float(np.mean(xs)), 2) if xs else None

    return {"exact_match": pct(em), "f1": pct(f1),
            "answerable": {"n": len(ans_f1), "exact_match": pct(ans_em), "f1": pct(ans_f1)},
            "unanswerable": {"n": len(declined_ok), "no_answer_accuracy": pct(declined_ok)}}


def cause(r: Result, threshold: float) -> str:
    """Why a question failed: what training (span) or calibration (threshold) must fix."""
    answered = r.text is not None and r.score >= threshold
    if not r.item.answers:
        return "answered an unanswerable question"
    if not r.read:
        return "retrieval: no passage read holds the answer"
    if not r.text:
        return "no span found"
    best_em, best_f1 = best_scores(r.text, r.item.answers)
    if best_em == 1:
        return "right span declined" if not answered else "right span"
    pred = normalize_answer(r.text)
    golds = [normalize_answer(g) for g in r.item.answers]
    what = ("span too long" if any(g in pred for g in golds) else "span truncated" if any(pred in g for g in golds)
            else "partly right span" if best_f1 > 0 else "wrong span")
    return what + (" (declined)" if not answered else "")


def report(results: list[Result], threshold: float, meta: dict) -> dict:
    lat = np.array([r.latency_ms for r in results])
    ranked = [r for r in results if r.item.answers]
    retrieval = None
    if meta["mode"] != "reader" and ranked:
        ranks = [r.rank for r in ranked]
        retrieval = {f"recall@{k}": round(100 * float(np.mean([x is not None and x <= k for x in ranks])), 2)
                     for k in (1, 3, 5)}
        retrieval["mrr"] = round(float(np.mean([1 / x if x else 0.0 for x in ranks])), 4)
    failures = []
    for r in results:
        pred = r.text if r.text is not None and r.score >= threshold else None
        em, f1 = best_scores(pred, r.item.answers)
        if em < 1:
            failures.append({"id": r.item.id, "question": r.item.question, "gold": r.item.answers,
                             "predicted": pred, "best_span": r.text, "score": round(r.score, 4), "f1": round(f1, 3),
                             "cause": cause(r, threshold)})
    sweep = []
    for t in np.round(np.linspace(0, 1, 41), 3):
        s = scores_at(results, float(t))
        sweep.append({"threshold": float(t), "f1": s["f1"], "answerable_f1": s["answerable"]["f1"],
                      "no_answer_accuracy": s["unanswerable"]["no_answer_accuracy"]})
    return {**meta, "n": len(results), "threshold": threshold, **scores_at(results, threshold),
            "retrieval": retrieval,
            "latency_ms": {"p50": round(float(np.percentile(lat, 50)), 1),
                           "p95": round(float(np.percentile(lat, 95)), 1), "mean": round(float(lat.mean()), 1)},
            "failures": failures, "failure_causes": dict(Counter(f["cause"] for f in failures).most_common()),
            "sweep": sweep}


def markdown(rep: dict) -> str:
    a, u, r = rep["answerable"], rep["unanswerable"], rep["retrieval"]
    lines = [f"# Evaluation: {rep['dataset']} ({rep['mode']} mode)", "",
             "| metric | value |", "|---|---|",
             f"| questions | {rep['n']} |", f"| exact match | {rep['exact_match']} |", f"| F1 | {rep['f1']} |",
             f"| answerable EM / F1 ({a['n']}) | {a['exact_match']} / {a['f1']} |",
             f"| unanswerable: no-answer accuracy ({u['n']}) | {u['no_answer_accuracy']} |"]
    if r:
        lines.append(f"| retrieval recall@1 / @3 / @5, MRR | {r['recall@1']} / {r['recall@3']} / {r['recall@5']}, "
                     f"{r['mrr']} |")
    if rep.get("article_hit"):
        h = rep["article_hit"]
        lines.append(f"| article hit@1 / @3 ({h['questions']} answerable, {h['articles']} articles) | "
                     f"{h['@1']} / {h['@3']} |")
    if rep.get("confident"):
        c = rep["confident"]
        lines.append(f"| answers shown as \"yakin\": right / shown | {c['right']} / {c['n']} ({c['precision']}%) |")
    lines.append(f"| answerable F1, always answering | {a.get('f1_always_answering')} |")
    for kind, t in rep.get("by_type", {}).items():
        lines.append(f"| answerable F1, {kind} ({t['n']}) | {t['f1']} (always answering {t['f1_always_answering']}) |")
    lines += [f"| latency p50 / p95 (ms) | {rep['latency_ms']['p50']} / {rep['latency_ms']['p95']} |",
              f"| no-answer threshold | {rep['threshold']:.3f} |",
              f"| embedder | `{rep['models']['embedder']}` |", f"| reader | `{rep['models']['reader']}` |", "",
              f"## Failed questions ({len(rep['failures'])})", "",
              ", ".join(f"{c}: {n}" for c, n in rep["failure_causes"].items()), "",
              "| id | question | gold | predicted | best span | score | cause |", "|---|---|---|---|---|---|---|"]
    for f in rep["failures"]:
        cells = [f["id"], f["question"], " / ".join(f["gold"]) or "(none)", f["predicted"] or "(declined)",
                 f["best_span"] or "", f"{f['score']:.3f}", f["cause"]]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def plot(rep: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [s["threshold"] for s in rep["sweep"]]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    if rep["answerable"]["n"]:
        ax.plot(xs, [s["answerable_f1"] for s in rep["sweep"]], label="F1, answerable questions")
    if rep["unanswerable"]["n"]:
        ax.plot(xs, [s["no_answer_accuracy"] for s in rep["sweep"]], label="accuracy, unanswerable questions")
    ax.plot(xs, [s["f1"] for s in rep["sweep"]], "--", label="F1, all questions")
    ax.axvline(rep["threshold"], color="grey", linestyle=":", label=f"configured threshold {rep['threshold']:.2f}")
    ax.set_xlabel("no-answer threshold (answer probability)")
    ax.set_ylabel("%")
    ax.set_ylim(0, 101)
    ax.set_title(f"{rep['dataset']} ({rep['mode']})")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def validation(data_dir: Path, settings: dict, top_k: int, threshold: float | None) -> list[dict]:
    """The reader's validation conditions (what ``qa.training.export`` calibrates on): the news
    condition (FacQA valid pseudo-articles, retrieve then read) and each gold-passage validation file."""
    reports = []
    results: list[Result] = []
    articles = pseudo_articles(data_dir)
    for art in tqdm(articles, desc="news articles", mininterval=5):
        qa = ArticleQA.from_text(art.text, **settings)
        results += run_open(qa, [item(ex) for ex in art.questions], top_k, progress=False)
    reader = qa.reader
    conditions = [("news condition (FacQA valid pseudo-articles)", "open", results)]
    for name in GOLD_VALID:
        examples = [detokenized(ex) if name == NEWS_VALID else ex for ex in load_squad(data_dir / name)]
        conditions.append((f"{name} (gold passage)", "reader", run_reader(reader, [item(ex) for ex in examples])))
    for dataset, mode, res in conditions:
        t = reader.threshold if threshold is None else threshold
        rep = report(res, t, {"dataset": dataset, "mode": mode, "top_k": top_k, "top_k_more": settings["top_k_more"],
                              "chunk_chars": settings["chunk_chars"],
                              "models": {"embedder": qa.embedder.fingerprint, "reader": reader.name}})
        rep["answerable"]["f1_always_answering"] = scores_at(res, 0.0)["answerable"]["f1"]
        reports.append(rep)
    return reports


def validation_table(reports: list[dict]) -> str:
    lines = ["| condition | questions | F1 | answerable F1 | answerable F1, always answering | no-answer accuracy |",
             "|---|---|---|---|---|---|"]
    for r in reports:
        a, u = r["answerable"], r["unanswerable"]
        lines.append(f"| {r['dataset']} | {r['n']} | {r['f1']} | {a['f1']} | {a['f1_always_answering']} | "
                     f"{u['no_answer_accuracy'] if u['n'] else '-'} |")
    return "\n".join(lines) + "\n"


def item(ex: Example) -> Item:
    return Item(ex.id, ex.question, ex.answers, ex.context)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=Path, help=f"Q&A pairs, JSON Lines (default {DEFAULT_PAIRS.name})")
    ap.add_argument("--article", type=Path, help="article for --pairs (default: the bundled article)")
    ap.add_argument("--squad", type=Path, help="SQuAD-format dataset instead of pairs")
    ap.add_argument("--articles", type=Path, metavar="DIR",
                    help="real articles: every <slug>.txt of DIR asked the questions of its <slug>.jsonl")
    ap.add_argument("--collection", metavar="PATH",
                    help="with --articles: ask across this collection (folder or Milvus Lite .db), the articles "
                         "added to it")
    ap.add_argument("--validation", action="store_true",
                    help="the validation conditions the reader is calibrated on (news condition + gold passages)")
    ap.add_argument("--data", type=Path, default=DATA_DIR, help=f"QA data folder for --validation (default {DATA_DIR})")
    ap.add_argument("--detokenize", action="store_true",
                    help="with --squad: undo pre-tokenised punctuation spacing (FacQA) before reading")
    ap.add_argument("--mode", choices=["reader", "open"], default="reader",
                    help="with --squad: read each gold passage (reader) or retrieve from all passages (open)")
    ap.add_argument("--limit", type=count, default=0, help="evaluate only the first N questions")
    ap.add_argument("--top-k", type=int, default=Settings.top_k,
                    help=f"passages read per question (default {Settings.top_k})")
    ap.add_argument("--top-k-more", type=int, default=Settings.top_k_more,
                    help="passages read further when those give no answer above the reader's threshold "
                         f"(default {Settings.top_k_more}; 0: never)")
    ap.add_argument("--chunk-chars", type=int, default=Settings.chunk_chars,
                    help=f"passage length when indexing (default {Settings.chunk_chars})")
    ap.add_argument("--threshold", type=probability, default=None,
                    help="override the reader's no-answer threshold (0 to 1)")
    ap.add_argument("--int8", action=argparse.BooleanOptionalAction, default=Settings.int8,
                    help="run the reader with int8 linear layers (Settings.int8, the default) or in fp32")
    ap.add_argument("--embedder-int8", action=argparse.BooleanOptionalAction, default=Settings.embedder_int8,
                    help="embed in int8 (Settings.embedder_int8; collections are made with it)")
    ap.add_argument("--abbreviations", action=argparse.BooleanOptionalAction, default=Settings.abbreviations,
                    help="keyword search matches short and full forms (Settings.abbreviations, the default)")
    ap.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads (Settings.num_threads)")
    ap.add_argument("--reader", default=Settings.reader, help="reader folder (default: the shipped reader)")
    ap.add_argument("--json", type=Path, metavar="OUT", help="write the full report as JSON")
    ap.add_argument("--markdown", type=Path, metavar="OUT", help="write a Markdown summary with failures")
    ap.add_argument("--plot", type=Path, metavar="OUT.png", help="plot F1/accuracy against the threshold")
    args = ap.parse_args(argv)
    try:
        if sum(x is not None for x in (args.squad, args.articles, args.pairs or args.article)) > 1:
            raise QAError("choose one of --squad, --articles and --pairs/--article")
        for path, flag in ((args.json, "--json"), (args.markdown, "--markdown"), (args.plot, "--plot")):
            writable(path, flag)
        Settings(top_k=args.top_k, top_k_more=args.top_k_more, chunk_chars=args.chunk_chars,
                 num_threads=args.threads)  # checked before the run
        settings = {"no_answer_threshold": 0.0, "top_k": args.top_k, "top_k_more": args.top_k_more, "int8": args.int8,
                    "chunk_chars": args.chunk_chars, "num_threads": args.threads, "abbreviations": args.abbreviations,
                    "embedder_int8": args.embedder_int8,
                    "reader": args.reader}
        if args.validation:
            reports = validation(args.data, settings, args.top_k, args.threshold)
            print(validation_table(reports))
            if args.plot:
                plot(reports[0], args.plot)  # the news condition, where the threshold matters most
            if args.json:
                args.json.write_text(json.dumps(reports, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            return 0
        if args.collection and not args.articles:
            raise QAError("--collection needs --articles DIR (the questions to ask across it)")
        hits = None
        if args.articles and args.collection:
            dataset, args.mode = f"{args.articles.name} across {args.collection}", "open"
            results, col, hits = run_collection(args.collection, args.articles, settings, args.top_k, args.limit)
            reader, embedder_fp = col.reader, col.embedder.fingerprint
        elif args.articles:
            dataset, args.mode = args.articles.name, "open"
            results, qa = run_articles(args.articles, settings, args.top_k, args.limit)
            reader, embedder_fp = qa.reader, qa.embedder.fingerprint
        elif args.squad:
            examples = load_squad(args.squad)
            if args.detokenize:
                examples = [detokenized(ex) for ex in examples]
            if args.limit:
                examples = examples[: args.limit]
            items = [item(e) for e in examples]
            dataset = args.squad.name
            if args.mode == "reader":
                from qa.reader import load_reader

                reader = load_reader(args.reader, int8=args.int8, threads=args.threads)
                embedder_fp = None
                results = run_reader(reader, items)
            else:
                contexts = list(dict.fromkeys(e.context.strip() for e in examples))
                qa = ArticleQA.from_text("\n\n".join(contexts), title=dataset, **settings)
                reader, embedder_fp = qa.reader, qa.embedder.fingerprint
                results = run_open(qa, items, args.top_k)
        else:
            items = load_pairs(args.pairs or DEFAULT_PAIRS)
            if args.limit:
                items = items[: args.limit]
            qa = ArticleQA.from_file(args.article, **settings) if args.article else ArticleQA.default(**settings)
            dataset = (args.pairs or DEFAULT_PAIRS).name
            args.mode = "open"
            reader, embedder_fp = qa.reader, qa.embedder.fingerprint
            results = run_open(qa, items, args.top_k)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    threshold = reader.threshold if args.threshold is None else args.threshold
    rep = report(results, threshold, {"dataset": dataset, "mode": args.mode, "top_k": args.top_k,
                                      "top_k_more": args.top_k_more, "chunk_chars": args.chunk_chars,
                                      "models": {"embedder": embedder_fp, "reader": reader.name}})
    rep["answerable"]["f1_always_answering"] = scores_at(results, 0.0)["answerable"]["f1"]
    shown = [r.text is not None and r.score >= threshold for r in results]
    rep["answers"] = [{"id": r.item.id, "text": r.text if ok else None, "article": r.article if ok else None}
                      for r, ok in zip(results, shown)]
    if args.articles:
        rep["by_type"] = by_type(results, threshold)
        rep["confident"] = confident_answers(results, threshold)
    if hits is not None:
        rep["article_hit"] = hits
    summary = {k: rep[k] for k in ("dataset", "mode", "n", "exact_match", "f1", "answerable", "unanswerable",
                                   "article_hit",
                                   "by_type", "confident", "retrieval", "latency_ms", "threshold", "failure_causes")
               if k in rep}
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(rep, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if args.markdown:
        args.markdown.write_text(markdown(rep), encoding="utf-8")
    if args.plot:
        plot(rep, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
