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
- **swapped** (``--swapped``, ``qa/train`` only): an answerable question with one of its names
  (a run of capitalised words found in its article) replaced by a name of the same kind from
  another article's questions that this article never mentions ("Siapa Kapolres Serang ...?" ->
  "Siapa Kapolres Bogor ...?"), asked of its gold paragraph and neighbours: unanswerable, the way
  real articles invite a same-type answer about someone or somewhere else (off by default: a draw
  with it read real articles and IDK-MRC worse, see the model card);
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


#: A name in a question: a run of capitalised words (``Polres Serang``, ``APBN``, ``Jakarta-Bandung``).
_NAME = re.compile(r"[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*")
#: Capitalised but not names worth swapping: days, months, question words.
_NOT_NAMES = frozenset("""
senin selasa rabu kamis jumat sabtu minggu januari februari maret april mei juni juli agustus september
oktober november desember apa siapa kapan di mana dimana mengapa kenapa bagaimana berapa dalam pada sejak
""".split())


def question_names(question: str) -> list[str]:
    """Names in ``question`` after its first word (which is capitalised anyway)."""
    first = re.match(r"\s*\S+", question)
    rest_at = first.end() if first else 0
    return [m.group() for m in _NAME.finditer(question, rest_at)
            if m.group().lower() not in _NOT_NAMES and not m.group().isdigit()]


def _same_kind(name: str, other: str) -> bool:
    """A rough type match without a tagger: abbreviations for abbreviations, the same first word
    (``Kabupaten``, ``Menteri``, ``Bank``) when both have several, else one word for one word; never
    a name sharing another word with the original (``Polres Serang`` -> ``Polres Serang Kota`` could
    be the same place)."""
    a, b = name.split(), other.split()
    kind_word = len(a) > 1 and len(b) > 1 and a[0] == b[0]
    if {w.lower() for w in a[kind_word:]} & {w.lower() for w in b[kind_word:]}:
        return False
    if name.isupper() or other.isupper():
        return name.isupper() and other.isupper() and len(a) == len(b) == 1
    return kind_word or len(a) == len(b) == 1


def swapped_examples(articles: list[AnnotatedArticle], rng: random.Random, copies: int = 1) -> list[Example]:
    """Answerable questions made unanswerable by naming someone or something the article does not.

    The swapped-in name comes from another article's questions and is of the same rough kind
    (:func:`_same_kind`); the question is then read against the paragraph that answered it (with
    0-2 neighbours).
    """
    pool = sorted({n for art in articles for q in art.questions for n in question_names(q.question)})
    out: list[Example] = []
    for art in articles:
        paras = [art.title, *art.paragraphs]
        lowered = art.text.lower()
        absent = [n for n in pool if n.lower() not in lowered]
        for q in art.questions:
            names = [n for n in question_names(q.question) if n.lower() in lowered]
            gold = next((i for i, p in enumerate(paras) if q.answers and q.answers[0] in p), None)
            if not names or gold is None:
                continue
            for c in range(copies):
                name = rng.choice(names)
                kind = [n for n in absent if _same_kind(name, n)]
                if not kind:
                    continue
                new = re.sub(rf"\b{re.escape(name)}\b", rng.choice(kind), q.question, count=1)
                lo = max(0, gold - rng.randint(0, 1))
                picked = range(lo, min(len(paras), gold + rng.randint(0, 1) + 1))
                out.append(Example(f"{q.id}-s{c}", new, "\n\n".join(paras[i] for i in picked)))
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
          squad_id: int = 800, replay: int = 2000, wiki: int = 0, swapped: int = 0) -> list[Example]:
    """The whole real-article mix, shuffled; each count is a sample size (0 leaves that source out)."""
    rng = random.Random(seed)
    train_dir = news_dir / "qa" / "train"
    refuse_eval_split(train_dir)
    articles = annotated_articles(train_dir)
    parts = [annotated_examples(articles, rng, copies)] if copies else []
    if swapped:
        parts.append(swapped_examples(articles, rng, swapped))
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
    ap.add_argument("--swapped", type=int, default=0,
                    help="unanswerable copies per annotated question with one name swapped for another article's")
    args = ap.parse_args(argv)
    if not (args.news / "qa" / "train").is_dir():
        raise SystemExit(f"error: {args.news / 'qa' / 'train'} not found: the real-article data "
                         "(../shared/data/news) is needed to make this mix")
    try:
        mix = build(args.news, args.data, seed=args.seed, copies=args.copies, facqa=args.facqa,
                    squad_id=args.squad_id, replay=args.replay, wiki=args.wiki, swapped=args.swapped)
    except QAError as exc:
        raise SystemExit(f"error: {exc}") from exc
    save_mix(mix, args.out)


if __name__ == "__main__":
    main()
