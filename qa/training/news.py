"""Real news articles as training data: annotated articles and passages placed in unlabeled ones.

    python -m qa.training.news --out runs/news3        # writes runs/news3/train.json (SQuAD layout)

Reads ``../shared/data/news`` (its texts are never committed: see its README). Users ask about
whole published articles, where the same agencies, officials, places and numbers recur in several
paragraphs, so the reader has to learn which paragraph answers. Made here, reproducibly:

- **annotated** (``qa/train`` only): each answerable question with its gold paragraph among 1-3
  neighbouring or BM25-closest paragraphs of its own article (real same-article distractors), and
  the same question with the BM25-closest paragraphs that hold none of its answers (unanswerable,
  as when retrieval misses); each unanswerable question with its article's BM25-closest paragraphs;
- **placed**: FacQA (de-tokenised) and translated SQuAD passages set among the BM25-closest
  paragraphs of the unlabeled articles (``articles.jsonl``), so the answer sits in real news
  surroundings; the same question without its passage is an unanswerable example;
- **replay**: a sample of the reader v2 mix (:mod:`qa.training.mix`), so Wikipedia and sentence-level
  skills stay; ``--wiki N`` adds N more IDK-MRC / TyDi QA train questions (about 44% adversarial
  unanswerables), so the reader keeps declining questions that name the passage's own entities.

The dev and test splits are refused: they are for choosing and reporting only.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import QAError
from ..retrieval import BM25Index
from ..squad import Example, load_squad, read_pairs
from .mix import FACQA, SQUAD_ID, build_mix, detokenized, save_mix
from .train import WIKI_FILES, training_examples

NEWS_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "news"
#: Splits that may be read only to choose settings and checkpoints (dev) or to report (test).
EVAL_SPLITS = ("dev", "test")


@dataclass
class Question:
    id: str
    question: str
    answers: list[str]
    type: str = ""


@dataclass
class AnnotatedArticle:
    """One ``<slug>.txt`` (headline, blank line, paragraphs) with the questions of ``<slug>.jsonl``."""

    slug: str
    text: str
    title: str
    paragraphs: list[str]
    questions: list[Question] = field(default_factory=list)


def read_annotated(txt: Path) -> AnnotatedArticle:
    """Read one article and its questions; a malformed line or a gold answer missing from the text
    raises ``QAError`` naming the file and line."""
    text = txt.read_text(encoding="utf-8")
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    if not blocks:
        raise QAError(f"{txt}: empty article")
    article = AnnotatedArticle(txt.stem, text, blocks[0], blocks[1:])
    qfile = txt.with_suffix(".jsonl")
    for pair in read_pairs(qfile):
        missing = [a for a in pair.answers if a not in text]
        if missing:
            raise QAError(f"{qfile}:{pair.line}: gold answer {missing[0]!r} is not in {txt.name}")
        article.questions.append(Question(pair.id, pair.question, pair.answers, pair.type))
    return article


def annotated_articles(folder: Path) -> list[AnnotatedArticle]:
    """Every ``<slug>.txt`` with its ``<slug>.jsonl`` in ``folder``, sorted by slug."""
    if not folder.is_dir():
        raise QAError(f"{folder}: no such folder of annotated articles (<slug>.txt + <slug>.jsonl)")
    txts = sorted(p for p in folder.glob("*.txt") if p.with_suffix(".jsonl").exists())
    if not txts:
        raise QAError(f"{folder}: no <slug>.txt with a <slug>.jsonl beside it")
    return [read_annotated(p) for p in txts]


def refuse_eval_split(folder: Path) -> None:
    if folder.resolve().name in EVAL_SPLITS:
        raise SystemExit(f"error: {folder} is the {folder.resolve().name} split: never trained on")


def _with_answer(ex_id: str, question: str, parts: list[str], gold: int, answer: str, offset: int) -> Example:
    """Join ``parts`` with blank lines; the answer is at ``offset`` inside ``parts[gold]``."""
    shift = sum(len(p) + 2 for p in parts[:gold])
    return Example(ex_id, question, "\n\n".join(parts), [answer], [shift + offset])


def _closest(bm25: BM25Index, paragraphs: list[str], question: str, exclude: set[int], n: int) -> list[int]:
    order = [int(i) for i in bm25.scores(question).argsort()[::-1]]
    return [i for i in order if i not in exclude][:n]


def annotated_examples(articles: list[AnnotatedArticle], rng: random.Random, copies: int = 2) -> list[Example]:
    out: list[Example] = []
    for art in articles:
        paras = [art.title, *art.paragraphs]  # the headline is read like a paragraph in the product
        bm25 = BM25Index(paras, stemming=False)
        for q in art.questions:
            holding = {i for i, p in enumerate(paras) if any(a in p for a in q.answers)}
            if not q.answers or not holding:
                for c in range(copies):
                    picked = sorted(_closest(bm25, paras, q.question, set(), rng.randint(2, 3)))
                    out.append(Example(f"{q.id}-u{c}", q.question, "\n\n".join(paras[i] for i in picked)))
                continue
            answer = q.answers[0]
            gold = next((i for i in sorted(holding) if answer in paras[i]), None)
            if gold is None:
                continue
            for c in range(copies):
                n = rng.randint(1, 3)
                if rng.random() < 0.5:  # neighbours, as the article runs
                    lo = max(0, gold - rng.randint(0, n))
                    picked = list(range(lo, min(len(paras), lo + n + 1)))
                else:  # the paragraphs retrieval would also bring, in article order
                    picked = sorted({gold, *_closest(bm25, paras, q.question, holding, n)})
                parts = [paras[i] for i in picked]
                out.append(_with_answer(f"{q.id}-a{c}", q.question, parts, picked.index(gold), answer,
                                        paras[gold].index(answer)))
            rest = _closest(bm25, paras, q.question, holding, rng.randint(2, 3))
            if rest and rng.random() < 0.6:
                out.append(Example(f"{q.id}-n", q.question, "\n\n".join(paras[i] for i in sorted(rest))))
    return out


def unlabeled_paragraphs(path: Path, exclude_titles: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Paragraphs (40+ characters) of the unlabeled articles."""
    out = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("title") in exclude_titles:
            continue
        out += [p.strip() for p in str(row.get("text", "")).split("\n") if len(p.strip()) >= 40]
    return out


def placed_examples(passages: list[Example], paragraphs: list[str], rng: random.Random,
                    negative_share: float = 0.3) -> list[Example]:
    """Each answerable passage among 1-3 BM25-closest real news paragraphs holding none of its answers."""
    bm25 = BM25Index(paragraphs, stemming=False)
    out = []
    for ex in passages:
        if not ex.answers:
            continue
        order = bm25.scores(ex.question).argsort()[::-1][:30]
        others = [paragraphs[int(i)] for i in order
                  if not any(a.lower() in paragraphs[int(i)].lower() for a in ex.answers)]
        if not others:
            continue
        others = others[: rng.randint(1, 3)]
        gold = rng.randint(0, len(others))
        parts = others[:gold] + [ex.context] + others[gold:]
        out.append(_with_answer(f"{ex.id}-placed", ex.question, parts, gold, ex.answers[0], ex.starts[0]))
        if rng.random() < negative_share:
            out.append(Example(f"{ex.id}-placed-n", ex.question, "\n\n".join(others)))
    return out


def build(news_dir: Path, data_dir: Path, *, seed: int = 21, copies: int = 2, facqa: int = 1000,
          squad_id: int = 800, replay: int = 2000, wiki: int = 0) -> list[Example]:
    """The whole real-article mix, shuffled; each count is a sample size (0 leaves that source out)."""
    rng = random.Random(seed)
    train_dir = news_dir / "qa" / "train"
    refuse_eval_split(train_dir)
    articles = annotated_articles(train_dir)
    parts = [annotated_examples(articles, rng, copies)] if copies else []
    if facqa or squad_id:
        paragraphs = unlabeled_paragraphs(news_dir / "articles.jsonl")
        pool = rng.sample([detokenized(e) for e in load_squad(data_dir / FACQA)], facqa) if facqa else []
        squad = [e for e in load_squad(data_dir / SQUAD_ID) if e.answers]
        pool += rng.sample(squad, min(squad_id, len(squad)))
        parts.append(placed_examples(pool, paragraphs, rng))
    if replay:
        parts.append(build_mix(data_dir, seed=seed)[:replay])
    if wiki:
        seen = {ex.id for part in parts for ex in part}
        pool = [ex for ex in training_examples([data_dir / name for name in WIKI_FILES]) if ex.id not in seen]
        parts.append(rng.sample(pool, min(wiki, len(pool))))
    mix = [ex for part in parts for ex in part]
    rng.shuffle(mix)
    return mix


def main(argv: list[str] | None = None) -> None:
    from .train import DATA_DIR

    ap = argparse.ArgumentParser(prog="python -m qa.training.news", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--news", type=Path, default=NEWS_DIR, help="the real-article folder")
    ap.add_argument("--data", type=Path, default=DATA_DIR, help="folder with the QA JSON files")
    ap.add_argument("--out", type=Path, required=True, help="folder for train.json")
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--copies", type=int, default=2,
                    help="contexts made per annotated question (0 leaves the annotated articles out)")
    ap.add_argument("--facqa", type=int, default=1000, help="FacQA passages placed in unlabeled articles")
    ap.add_argument("--squad-id", type=int, default=800, help="translated SQuAD passages placed likewise")
    ap.add_argument("--replay", type=int, default=2000, help="examples of the reader v2 mix")
    ap.add_argument("--wiki", type=int, default=0, help="further IDK-MRC + TyDi QA train questions")
    args = ap.parse_args(argv)
    if not (args.news / "qa" / "train").is_dir():
        raise SystemExit(f"error: {args.news / 'qa' / 'train'} not found: the real-article data "
                         "(../shared/data/news) is needed to make this mix")
    try:
        mix = build(args.news, args.data, seed=args.seed, copies=args.copies, facqa=args.facqa,
                    squad_id=args.squad_id, replay=args.replay, wiki=args.wiki)
    except QAError as exc:
        raise SystemExit(f"error: {exc}") from exc
    save_mix(mix, args.out)


if __name__ == "__main__":
    main()
