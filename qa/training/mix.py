"""The reader's training mix, made reproducibly in code from the files in ``../shared/data/qa``.

    python -m qa.training.mix --out runs/mix            # writes runs/mix/train.json (SQuAD layout)

News is what the reader reads, and the only news QA data is IndoNLU FacQA: one or two sentences per
passage, pre-tokenised, every question answerable. So the mix

- de-tokenises FacQA (``Hezb-ul Mujahedeen , kelompok`` -> ``Hezb-ul Mujahedeen, kelompok``: news
  as users paste it), answer offsets carried through exactly;
- makes news-style unanswerable questions: each FacQA question paired with the other FacQA passage
  that BM25 ranks highest for it and that holds none of its answers (a hard negative: same people,
  places or topic, no answer), as happens when an article's passages are read together;
- sets the gold passage next to such a neighbour for part of the answerable questions, so the model
  learns to pick the right sentence among related ones;
- keeps Wikipedia skills and adversarial unanswerables with a share of IDK-MRC + TyDi QA train
  (deduplicated by id) and of SQuAD 2.0 dev machine-translated to Indonesian.

Validation and test files are never read here.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

from ..retrieval import BM25Index
from ..squad import Example, load_squad
from .train import DATA_DIR, WIKI_FILES, training_examples

FACQA = "facqa_train.json"
SQUAD_ID = "squad2_id_mt_dev.json"

_QUOTE = '"'


def detokenize(text: str) -> tuple[str, list[int]]:
    """Undo FacQA's spaces around punctuation; also return ``old index -> new index``.

    Spaces go before ``, . ; : ! ? ) ] %``, after ``( [``, inside ``" quoted "`` text, and around
    the hyphen of reduplications and suffixes (``orang - orang``, ``1980 - an``). Nothing but spaces
    is removed, so an answer's offsets map exactly.
    """
    drop = set()
    quote_open = False
    for i, ch in enumerate(text):
        if ch != " ":
            if ch == _QUOTE:
                quote_open = not quote_open
                if quote_open and i + 1 < len(text) and text[i + 1] == " ":
                    drop.add(i + 1)
                elif not quote_open and i > 0 and text[i - 1] == " ":
                    drop.add(i - 1)
            continue
        nxt = text[i + 1] if i + 1 < len(text) else ""
        prev = text[i - 1] if i > 0 else ""
        if (nxt and nxt in ",.;:!?)]%" and prev != " ") or prev in "([":
            drop.add(i)
    for m in re.finditer(r"(\w+) - (\w+)", text):
        left, right = m.group(1), m.group(2)
        if left.lower() == right.lower() or right.lower() in {"an", "nya", "anya"} or left.isdigit():
            drop.update({m.end(1), m.start(2) - 1})
    mapping: list[int] = []
    out: list[str] = []
    for i, ch in enumerate(text):
        mapping.append(len(out))
        if i not in drop:
            out.append(ch)
    mapping.append(len(out))
    return "".join(out), mapping


def detokenized(ex: Example) -> Example:
    context, mapping = detokenize(ex.context)
    starts = [mapping[s] for s in ex.starts]
    answers = [context[mapping[s] : mapping[s + len(a)]].strip() for a, s in zip(ex.answers, ex.starts)]
    return Example(ex.id, detokenize(ex.question)[0], context, answers, starts)


@dataclass
class News:
    """FacQA-derived examples: answerable (some beside a related passage) and made unanswerable."""

    answerable: list[Example]
    negatives: list[Example]


def hard_negative(ex: Example, bm25: BM25Index, contexts: list[str]) -> str | None:
    """The best BM25 passage for the question that is not its own and holds none of its answers."""
    scores = bm25.scores(ex.question)
    for i in scores.argsort()[::-1][:50]:
        ctx = contexts[int(i)]
        if ctx != ex.context and not any(a.lower() in ctx.lower() for a in ex.answers):
            return ctx
    return None


def news_examples(examples: list[Example], rng: random.Random, neighbour_share: float = 0.5,
                  detok: bool = True) -> News:
    if detok:
        examples = [detokenized(ex) for ex in examples]
    contexts = sorted({ex.context for ex in examples})
    bm25 = BM25Index(contexts, stemming=False)
    answerable, negatives = [], []
    for ex in examples:
        other = hard_negative(ex, bm25, contexts)
        if other is None:
            answerable.append(ex)
            continue
        negatives.append(Example(f"{ex.id}-neg", ex.question, other))
        if rng.random() < neighbour_share:  # gold passage beside its neighbour, in either order
            if rng.random() < 0.5:
                ctx, shift = f"{ex.context} {other}", 0
            else:
                ctx, shift = f"{other} {ex.context}", len(other) + 1
            ex = Example(f"{ex.id}-pair", ex.question, ctx, ex.answers, [s + shift for s in ex.starts])
        answerable.append(ex)
    return News(answerable, negatives)


def build_mix(data_dir: Path, *, seed: int = 7, wiki: int = 4000, squad_id: int = 3000, negatives: int = 1931,
              detok: bool = True) -> list[Example]:
    """The whole mix, shuffled; each count is a sample size (0 leaves that source out)."""
    rng = random.Random(seed)
    news = news_examples(load_squad(data_dir / FACQA), rng, detok=detok)
    parts = [news.answerable, rng.sample(news.negatives, min(negatives, len(news.negatives)))]
    wikipedia = training_examples([data_dir / name for name in WIKI_FILES])
    for pool, n in ((wikipedia, wiki), (load_squad(data_dir / SQUAD_ID), squad_id)):
        parts.append(rng.sample(pool, min(n, len(pool))))
    mix = [ex for part in parts for ex in part]
    rng.shuffle(mix)
    return mix


def to_squad(examples: list[Example]) -> dict:
    return {"data": [{"title": ex.id, "context": ex.context, "qas": [{
        "id": ex.id, "question": ex.question, "is_impossible": not ex.answers,
        "answers": [{"text": a, "answer_start": s} for a, s in zip(ex.answers, ex.starts)]}]} for ex in examples]}


def save_mix(mix: list[Example], out: Path) -> None:
    """Write ``out/train.json`` (SQuAD layout) and say how many questions it holds."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.json").write_text(json.dumps(to_squad(mix), ensure_ascii=False))
    unanswerable = sum(not ex.answers for ex in mix)
    print(f"{len(mix)} questions ({unanswerable} unanswerable) -> {out / 'train.json'}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m qa.training.mix", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA_DIR, help="folder with the QA JSON files")
    ap.add_argument("--out", type=Path, required=True, help="folder for train.json")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--wiki", type=int, default=4000, help="IDK-MRC + TyDi QA train questions (sampled)")
    ap.add_argument("--squad-id", type=int, default=3000, help="translated SQuAD 2.0 questions (sampled)")
    ap.add_argument("--negatives", type=int, default=1931, help="made FacQA unanswerable questions")
    ap.add_argument("--keep-tokenized", action="store_true", help="leave FacQA's spaces around punctuation")
    args = ap.parse_args(argv)
    mix = build_mix(args.data, seed=args.seed, wiki=args.wiki, squad_id=args.squad_id, negatives=args.negatives,
                    detok=not args.keep_tokenized)
    save_mix(mix, args.out)


if __name__ == "__main__":
    main()
