"""The extractive reader: marks the answer span in passages, or declines.

Decoding is ours (transformers 5 has no question-answering pipeline): every window of every passage
goes through the model in one padded batch; a span's raw score is ``start_logit + end_logit`` minus
the same window's no-answer score (``<s>``), which makes spans comparable across windows and
passages. A logistic calibration fitted on validation data turns that margin into a probability of
being right; spans below the tuned threshold are declined.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ArticleError, ModelError, QuestionError
from .settings import BUNDLED_EMBEDDER, DEFAULT_READER, Settings
from .spans import counted_words, snap_span, with_counted_noun
from .text import clean_question, replace_surrogates
from .types import Answer, Passage

if TYPE_CHECKING:
    from .embedder import Embedder

WEIGHTS = "reader.safetensors"
META = "reader.json"
MAX_QUESTION_TOKENS = 64
N_BEST = 40  # span candidates kept per window before snapping and de-duplication
READ_BATCH = 16  # windows per ONNX Runtime call: memory stays bounded however long the text
#: ``Reader.read`` reads every window of its context; longer texts go through ``ArticleQA``, which
#: retrieves the few passages worth reading (about 100 windows, a few seconds on 2 cores).
MAX_READ_CHARS = 50_000
#: ``(input_ids, attention_mask) -> [start_logits, end_logits]``, e.g. a :class:`qa.runtime.Encoder`
Forward = Callable[[np.ndarray, np.ndarray], list[np.ndarray]]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


@dataclass
class _Window:
    passage: int
    offsets: list[tuple[int, int] | None]


class Reader:
    """A span-extraction model plus its calibration; ``read`` answers from one context."""

    def __init__(self, encoder: Forward, tokenizer, *, pad_id: int, scale: float = 1.0, bias: float = 0.0,
                 threshold: float = 0.5, name: str = "reader") -> None:
        self.encoder = encoder  # (input_ids, attention_mask) -> [start_logits, end_logits]
        self.tokenizer = tokenizer  # a ``tokenizers.Tokenizer``; never reconfigured, so it can be shared
        self.pad_id = pad_id
        self.scale, self.bias, self.threshold, self.name = scale, bias, threshold, name

    @classmethod
    def default(cls, int8: bool = False, num_threads: int | None = None) -> Reader:
        return load_reader(str(DEFAULT_READER), int8=int8, threads=num_threads)

    # -- public -------------------------------------------------------------------------------
    def read(self, question: str, context: str, settings: Settings | None = None) -> Answer:
        """Answer ``question`` from ``context``; offsets are into ``context``."""
        settings = settings or Settings()
        question = clean_question(question, settings.max_question_chars)
        if not isinstance(context, str):
            raise ArticleError(f"the context must be text, not {type(context).__name__}", "not_text")
        if len(context) > MAX_READ_CHARS:
            raise ArticleError(f"the context is {len(context):,} characters; Reader.read reads at most "
                               f"{MAX_READ_CHARS:,}: use ArticleQA.from_text(context).ask(question), which "
                               "retrieves the passages worth reading", "too_large")
        context = replace_surrogates(context)  # one for one: offsets into the caller's context hold
        passage = Passage(context, 0, len(context), 1.0, 0)
        return self.read_passages(question, context, [passage], settings)

    def read_passages(self, question: str, article: str, passages: list[Passage], settings: Settings,
                      more: Sequence[Passage] = ()) -> Answer:
        """Best span over several passages of ``article`` (offsets into ``article``).

        ``more``: the next passages retrieval ranked, read only when ``passages`` give no span above the
        reader's calibrated threshold (the answer is often just below the first few: news dev pooled F1
        70.82 -> 72.61 with 2 more and reader v3, read for a third of the questions; docs/experiments.md).
        """
        question = self._cap_question(question)
        raw = self.margins(question, passages, settings)
        candidates = self._calibrated(raw, passages)
        if more and (not candidates or candidates[0][0] < self.threshold):
            raw += [(m, a, b, pi + len(passages)) for m, a, b, pi in self.margins(question, list(more), settings)]
            passages = [*passages, *more]
            candidates = self._calibrated(raw, passages)
        threshold = self.threshold if settings.no_answer_threshold is None else settings.no_answer_threshold
        distinct: list[Answer] = []
        for prob, a, b, pi in candidates:
            s, e = passages[pi].start + a, passages[pi].start + b
            if any(s < x.end and x.start < e for x in distinct):
                continue
            distinct.append(Answer(article[s:e], prob, s, e, passages[pi]))
            if len(distinct) > settings.n_alternatives:
                break
        if not distinct or distinct[0].score < threshold:
            best = distinct[0].score if distinct else 0.0
            hint = distinct[0].passage if distinct else (passages[0] if passages else None)
            return Answer(None, 1.0 - best, passage=hint, alternatives=distinct[: settings.n_alternatives],
                          no_answer_score=1.0 - best)
        top = distinct[0]
        return Answer(top.text, top.score, top.start, top.end, top.passage, distinct[1 : settings.n_alternatives + 1],
                      1.0 - top.score)

    # -- internals ----------------------------------------------------------------------------
    def _cap_question(self, question: str) -> str:
        if not question.strip():
            raise QuestionError("the question is empty: type a question about the article")
        offsets = self.tokenizer.encode(question, add_special_tokens=False).offsets
        return question[: offsets[MAX_QUESTION_TOKENS - 1][1]] if len(offsets) > MAX_QUESTION_TOKENS else question

    def _windows(self, question: str, passages: list[Passage], settings: Settings
                 ) -> tuple[np.ndarray, np.ndarray, list[_Window]]:
        """Question + passage windows (``stride`` tokens of overlap), padded into one batch."""
        tok = self.tokenizer
        q = tok.encode(question, add_special_tokens=False)
        room = max(8, settings.window_tokens - len(q.ids) - tok.num_special_tokens_to_add(True))
        rows, windows = [], []
        for pi, passage in enumerate(passages):
            enc = tok.encode(passage.text, add_special_tokens=False)
            enc.truncate(room, stride=min(settings.window_stride, room - 1))
            for part in [enc, *enc.overflowing]:
                pair = tok.post_process(q, part)
                rows.append(pair.ids)
                windows.append(_Window(pi, [o if s == 1 else None for o, s in zip(pair.offsets, pair.sequence_ids)]))
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, r in enumerate(rows):
            ids[i, : len(r)], mask[i, : len(r)] = r, 1
        for w in windows:
            w.offsets += [None] * (width - len(w.offsets))
        return ids, mask, windows

    def margins(self, question: str, passages: list[Passage], settings: Settings
                ) -> list[tuple[float, int, int, int]]:
        """Raw candidates ``(span score - window no-answer score, start, end, passage)``, best first."""
        if not passages:
            return []
        ids, mask, windows = self._windows(question, passages, settings)
        logits = [self.encoder(ids[i : i + READ_BATCH], mask[i : i + READ_BATCH])
                  for i in range(0, len(ids), READ_BATCH)]
        starts = np.concatenate([s for s, _ in logits])
        ends = np.concatenate([e for _, e in logits])
        counted = counted_words(question)
        best: dict[tuple[int, int, int], float] = {}
        for w, win in enumerate(windows):
            valid = np.array([o is not None for o in win.offsets])
            null = float(starts[w][0] + ends[w][0])
            # every (start, end) pair at once: end not before start, at most max_answer_tokens long
            scores = starts[w][:, None] + ends[w][None, :]
            n = len(valid)
            length = np.arange(n)[None, :] - np.arange(n)[:, None]
            ok = valid[:, None] & valid[None, :] & (length >= 0) & (length < settings.max_answer_tokens)
            scores = np.where(ok, scores, -np.inf)
            top = min(N_BEST, scores.size - 1)
            flat = np.argpartition(-scores, top, axis=None)[: top + 1]  # the best few, then order them
            flat = flat[np.argsort(-scores.ravel()[flat])]
            for i, j in zip(*np.unravel_index(flat, scores.shape)):
                if not ok[i, j]:
                    break
                a, b = win.offsets[i][0], win.offsets[j][1]  # type: ignore[index]
                text = passages[win.passage].text
                a, b = with_counted_noun(text, *snap_span(text, a, b), counted)
                key = (win.passage, a, b)
                score = float(scores[i, j]) - null
                if a < b and score > best.get(key, -np.inf):
                    best[key] = score
        ranked = sorted(((m, a, b, p) for (p, a, b), m in best.items()), key=lambda c: -c[0])
        return ranked

    def _calibrated(self, raw: list[tuple[float, int, int, int]], passages: list[Passage]
                    ) -> list[tuple[float, int, int, int]]:
        """Calibrated candidates ``(probability, start, end, passage)`` from :meth:`margins`, best first.

        Retrieval breaks near-ties only: a strong span in the third passage still beats a weak one
        in the first (``passage.score`` shares of the best passage add at most 0.05).
        """
        top_retrieval = max((p.score for p in passages), default=0.0) or 1.0
        out = []
        for margin, a, b, pi in raw:
            prob = sigmoid(self.scale * margin + self.bias)
            prior = 0.05 * max(0.0, passages[pi].score) / top_retrieval if len(passages) > 1 else 0.0
            out.append((prob, prior, a, b, pi))
        out.sort(key=lambda c: -(c[0] + c[1]))
        return [(prob, a, b, pi) for prob, _, a, b, pi in out]


def int8_exempt(node: str, fp32_layers: Collection[int] | None = None) -> bool:
    """Products kept in fp32 by the int8 option.

    The span head is tiny. A feed-forward output projection sees GELU activations, which in some
    layers have outliers that int8 activations flatten (answers changed in our checks): those layers
    are ``fp32_layers``, measured per reader by the export (``int8_fp32_layers`` in ``reader.json``,
    :func:`qa.training.export.outlier_layers`); ``None`` keeps them fp32 in every layer.
    """
    if "qa_outputs" in node:
        return True
    ffn = re.search(r"/layer\.(\d+)/output/dense/MatMul$", node)
    return ffn is not None and (fp32_layers is None or int(ffn.group(1)) in fp32_layers)


def assemble(base_dir: str, weights: Path) -> Any:
    """The torch QA model (for export): shipped layers on the base encoder's configuration.

    The word-embedding matrix is not part of the exported graph (see :mod:`qa.runtime`), so the model
    gets a placeholder of one row per id up to the padding id instead of a throwaway 384 MB copy.
    """
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForQuestionAnswering
    from transformers.initialization import no_init_weights

    config = AutoConfig.from_pretrained(base_dir)
    config.vocab_size = (config.pad_token_id or 0) + 1
    with no_init_weights():
        model = AutoModelForQuestionAnswering.from_config(config)
    state = {k: v.float() for k, v in load_file(str(weights)).items()}
    expected = {k for k in model.state_dict() if "word_embeddings" not in k}
    if missing := expected - set(state):
        raise ModelError(f"{weights} lacks {len(missing)} tensors (e.g. {sorted(missing)[0]}); re-export it")
    model.load_state_dict(state, strict=False)
    return model.eval()


def export_shipped(base_dir: str, weights: Path, out: Path, int8: bool = False,
                   fp32_layers: Collection[int] | None = None) -> None:
    """Export shipped weights (layers + head, no word embeddings) as an ONNX Runtime folder."""
    _export_span_model(assemble(base_dir, weights), out, int8, fp32_layers)


def _export_hf(name: str, out: Path, int8: bool) -> None:
    """Export any Hugging Face QA model, with its own embedding matrix and tokenizer."""
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from .runtime import save_embeddings, save_tokenizer

    model = AutoModelForQuestionAnswering.from_pretrained(name).eval()
    tokenizer = AutoTokenizer.from_pretrained(name)
    save_embeddings(model, out)
    save_tokenizer(tokenizer, out)
    _export_span_model(model, out, int8, pad_id=int(tokenizer.pad_token_id or 0))


def _export_span_model(model: Any, out: Path, int8: bool, fp32_layers: Collection[int] | None = None,
                       **meta: Any) -> None:
    from .runtime import export_graph, quantize_int8

    export_graph(model, out, ("start_logits", "end_logits"), {"int8": int8, **meta})
    if int8:
        quantize_int8(out, functools.partial(int8_exempt, fp32_layers=fp32_layers))


def _finite(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _shipped_meta(meta_path: Path) -> dict[str, Any]:
    """``reader.json``, checked: a missing or damaged file names itself instead of failing later as a
    KeyError, or as a string threshold that compares wrongly."""
    fix = (f"Restore it with `git checkout -- {meta_path}`, or export the reader again with "
           "`python -m qa.training.export`.")
    if not meta_path.is_file():
        raise ModelError(f"reader metadata missing: {meta_path} (it holds the weights' checksum and the "
                         f"calibration). {fix}")
    try:
        raw = json.loads(meta_path.read_bytes())
    except (OSError, ValueError) as exc:  # ValueError: not JSON, or not UTF-8
        raise ModelError(f"cannot read reader metadata {meta_path} ({exc}). {fix}") from exc
    meta: dict[str, Any] = raw if isinstance(raw, dict) else {}
    cal: dict[str, Any] = meta["calibration"] if isinstance(meta.get("calibration"), dict) else {}
    wrong = [what for what, ok in (
        ("'sha256' (64 hex digits)", isinstance(meta.get("sha256"), str)
         and re.fullmatch("[0-9a-f]{64}", meta["sha256"])),
        ("'calibration.scale' (a number)", _finite(cal.get("scale"))),
        ("'calibration.bias' (a number)", _finite(cal.get("bias"))),
        ("'threshold' (a number from 0 to 1)", _finite(meta.get("threshold")) and 0 <= meta["threshold"] <= 1),
        ("'base' (a model name)", isinstance(meta.get("base", BUNDLED_EMBEDDER), str)),
        ("'int8_fp32_layers' (layer numbers)", meta.get("int8_fp32_layers") is None or (
            isinstance(meta["int8_fp32_layers"], list)
            and all(type(x) is int and x >= 0 for x in meta["int8_fp32_layers"]))),
    ) if not ok]
    if wrong:
        raise ModelError(f"reader metadata {meta_path} is damaged: missing or wrong {', '.join(wrong)}. {fix}")
    return meta


def _export_named_base(base_name: str, weights: Path, int8: bool, fp32_layers: tuple[int, ...] | None,
                       out: Path) -> None:
    from .embedder import resolve_model_path

    export_shipped(resolve_model_path(base_name, verify=True), weights, out, int8, fp32_layers)


@functools.lru_cache(maxsize=4)
def reader_for(settings: Settings, embedder: Embedder | None = None) -> Reader:
    """The shared reader that ``settings`` ask for (its word embeddings shared with ``embedder``)."""
    return load_reader(settings.reader, embedder, settings.int8, settings.num_threads)


def load_reader(name: str = str(DEFAULT_READER), embedder: Embedder | None = None, int8: bool = False,
                threads: int | None = None) -> Reader:
    """Load a shipped reader directory (base + weights, checksum-verified) or any HF QA model.

    A shipped reader runs on its base embedder's word-embedding matrix and tokenizer: pass the loaded
    ``embedder`` to share them (otherwise the base embedder is loaded); ``int8`` quantises the
    linear layers for CPU speed (see :func:`int8_exempt`).
    """
    from .embedder import load_embedder
    from .runtime import folder_key, load_encoder, load_tokenizer

    path = Path(name)
    meta_path = path / META
    suffix = "-int8" if int8 else ""
    if meta_path.is_file() or (path / WEIGHTS).is_file():  # a shipped reader, whole or not
        meta = _shipped_meta(meta_path)
        weights = path / WEIGHTS
        if not weights.is_file():
            raise ModelError(f"reader weights missing: {weights}. Restore them with `git checkout -- {weights}` "
                             "or retrain with `python -m qa.training.train` and `python -m qa.training.export`.")
        from .store import sha256_file

        digest = sha256_file(weights)
        if digest != meta["sha256"]:
            raise ModelError(f"reader weights {weights} are corrupt (SHA-256 {digest[:12]}... expected "
                             f"{meta['sha256'][:12]}...). Restore them with `git checkout -- {weights}`.")
        base_name = meta.get("base", BUNDLED_EMBEDDER)
        base = embedder if embedder is not None and embedder.name == base_name else load_embedder(base_name, threads)
        layers = meta.get("int8_fp32_layers")
        fp32_layers = tuple(sorted(layers)) if int8 and layers is not None else None
        build = functools.partial(_export_named_base, base_name, weights, int8, fp32_layers)
        source = digest if fp32_layers is None else f"{digest}|fp32:{','.join(map(str, fp32_layers))}"
        encoder = load_encoder(folder_key("reader" + suffix, source), build, base.word_embeddings(), threads)
        tokenizer, pad_id = base.tokenizer, base.pad_id
        cal, threshold, label = meta["calibration"], meta["threshold"], f"{path.name}@{digest[:12]}"
    else:
        from .embedder import model_fingerprint

        try:
            key = folder_key("reader" + suffix, model_fingerprint(name))
            encoder = load_encoder(key, functools.partial(_export_hf, name, int8=int8), threads=threads)
            tokenizer, pad_id = load_tokenizer(encoder.folder), int(encoder.meta["pad_id"])
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"cannot load reader {name!r} ({type(exc).__name__}: {exc}). Give the shipped reader "
                             f"directory ({DEFAULT_READER}) or a local question-answering model directory.") from exc
        cal, threshold, label = {"scale": 0.5, "bias": 0.0}, 0.5, name
    return Reader(encoder, tokenizer, pad_id=pad_id, scale=cal["scale"], bias=cal["bias"], threshold=threshold,
                  name=label + ("/int8" if int8 else ""))
