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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from .errors import ModelError, QuestionError
from .settings import BUNDLED_EMBEDDER, DEFAULT_READER, Settings
from .types import Answer, Passage

if TYPE_CHECKING:
    from .embedder import Embedder

WEIGHTS = "reader.safetensors"
META = "reader.json"
MAX_QUESTION_TOKENS = 64
N_BEST = 40  # span candidates kept per window before snapping and de-duplication
_STRIP = " \t\n,.;:!?\"'“”‘’«»–—-"


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, x))))


def snap_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen to whole words, then drop surrounding spaces, punctuation and unbalanced brackets."""
    while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
        end += 1
    changed = True
    while changed and start < end:
        changed = False
        span = text[start:end]
        if span[0] in _STRIP:
            start, changed = start + 1, True
        elif span[-1] in _STRIP:
            end, changed = end - 1, True
        elif span[0] == "(" and (")" not in span or (span[-1] == ")" and span.count("(") == 1)):
            start, changed = start + 1, True
        elif span[-1] == ")" and "(" not in span:
            end, changed = end - 1, True
    return start, end


@dataclass
class _Window:
    passage: int
    offsets: list[tuple[int, int] | None]


class Reader:
    """A span-extraction model plus its calibration; ``read`` answers from one context."""

    def __init__(self, model: torch.nn.Module, tokenizer, *, scale: float = 1.0, bias: float = 0.0,
                 threshold: float = 0.5, name: str = "reader") -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.scale, self.bias, self.threshold, self.name = scale, bias, threshold, name

    @classmethod
    def default(cls, int8: bool = False) -> Reader:
        return load_reader(str(DEFAULT_READER), int8=int8)

    # -- public -------------------------------------------------------------------------------
    def read(self, question: str, context: str, settings: Settings | None = None) -> Answer:
        """Answer ``question`` from ``context``; offsets are into ``context``."""
        passage = Passage(context, 0, len(context), 1.0, 0)
        return self.read_passages(question, context, [passage], settings or Settings())

    def read_passages(self, question: str, article: str, passages: list[Passage],
                      settings: Settings) -> Answer:
        """Best span over several passages of ``article`` (offsets into ``article``)."""
        question = self._cap_question(question)
        candidates = self.candidates(question, passages, settings)
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
        enc = self.tokenizer(question, add_special_tokens=False, return_offsets_mapping=True,
                             truncation=True, max_length=MAX_QUESTION_TOKENS)
        return question[: enc["offset_mapping"][-1][1]] if enc["offset_mapping"] else question

    def margins(self, question: str, passages: list[Passage], settings: Settings
                ) -> list[tuple[float, int, int, int]]:
        """Raw candidates ``(span score - window no-answer score, start, end, passage)``, best first."""
        if not passages:
            return []
        enc = self.tokenizer([question] * len(passages), [p.text for p in passages], truncation="only_second",
                             max_length=settings.window_tokens, stride=settings.window_stride,
                             return_overflowing_tokens=True, return_offsets_mapping=True,
                             padding=True, return_tensors="pt")
        windows = []
        for w in range(enc["input_ids"].shape[0]):
            seq = enc.sequence_ids(w)
            offs = [tuple(o) if seq[i] == 1 else None for i, o in enumerate(enc["offset_mapping"][w].tolist())]
            windows.append(_Window(int(enc["overflow_to_sample_mapping"][w]), offs))  # type: ignore[arg-type]
        with torch.inference_mode():
            out = self.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
        starts, ends = out.start_logits.float().numpy(), out.end_logits.float().numpy()
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
                a, b = snap_span(passages[win.passage].text, a, b)
                key = (win.passage, a, b)
                score = float(scores[i, j]) - null
                if a < b and score > best.get(key, -np.inf):
                    best[key] = score
        ranked = sorted(((m, a, b, p) for (p, a, b), m in best.items()), key=lambda c: -c[0])
        return ranked

    def candidates(self, question: str, passages: list[Passage], settings: Settings
                   ) -> list[tuple[float, int, int, int]]:
        """Calibrated candidates ``(probability, start, end, passage)``, best first.

        Retrieval breaks near-ties only: a strong span in the third passage still beats a weak one
        in the first (``passage.score`` shares of the best passage add at most 0.05).
        """
        top_retrieval = max((p.score for p in passages), default=0.0) or 1.0
        out = []
        for margin, a, b, pi in self.margins(question, passages, settings):
            prob = sigmoid(self.scale * margin + self.bias)
            prior = 0.05 * max(0.0, passages[pi].score) / top_retrieval if len(passages) > 1 else 0.0
            out.append((prob, prior, a, b, pi))
        out.sort(key=lambda c: -(c[0] + c[1]))
        return [(prob, a, b, pi) for prob, _, a, b, pi in out]


def quantize(model: torch.nn.Module) -> torch.nn.Module:
    """int8 dynamic quantisation (per-channel weights) of the linear layers, in place.

    The feed-forward output projections see GELU activations with large outliers, which per-tensor
    int8 activations flatten (answers changed in our checks), and the span head is tiny: those stay
    fp32. The shared embedding matrix is not touched, so it stays shared.
    """
    import warnings

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    spec = {name: per_channel_dynamic_qconfig for name, module in model.named_modules()
            if isinstance(module, torch.nn.Linear) and "qa_outputs" not in name
            and not (name.endswith("output.dense") and "attention" not in name)}
    with warnings.catch_warnings():  # torch.ao is deprecated in favour of torchao, still the fastest CPU path here
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, spec, dtype=torch.qint8, inplace=True)


def assemble(base_dir: str, weights: Path, word_embeddings: torch.Tensor | None = None, tokenizer: object = None
             ) -> tuple[torch.nn.Module, object]:
    """The QA model: shipped layers + the base encoder's frozen word embeddings.

    The embeddings are the embedder's own matrix, so when ``word_embeddings`` is given (the loaded
    embedder's tensor) the reader shares it instead of holding a second 384 MB copy; likewise the
    embedder's ``tokenizer`` (loading the 250k-piece tokenizer again costs seconds of start-up).
    """
    from safetensors import safe_open
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModelForQuestionAnswering, AutoTokenizer
    from transformers.initialization import no_init_weights

    config = AutoConfig.from_pretrained(base_dir)
    # the real matrix is attached below: allocate no throwaway copy (just enough rows for the padding id)
    vocab, config.vocab_size = config.vocab_size, (config.pad_token_id or 0) + 1
    with no_init_weights():
        model = AutoModelForQuestionAnswering.from_config(config)
    model.config.vocab_size = vocab
    state = {k: v.float() for k, v in load_file(str(weights)).items()}
    expected = {k for k in model.state_dict() if "word_embeddings" not in k}
    if missing := expected - set(state):
        raise ModelError(f"{weights} lacks {len(missing)} tensors (e.g. {sorted(missing)[0]}); re-export it")
    model.load_state_dict(state, strict=False)
    if word_embeddings is None:
        with safe_open(str(Path(base_dir) / "model.safetensors"), "pt") as f:
            word_embeddings = f.get_tensor("embeddings.word_embeddings.weight")
    model.bert.embeddings.word_embeddings = torch.nn.Embedding.from_pretrained(
        word_embeddings, freeze=True, padding_idx=config.pad_token_id)
    return model.eval(), tokenizer or AutoTokenizer.from_pretrained(base_dir)


@functools.lru_cache(maxsize=4)
def load_reader(name: str = str(DEFAULT_READER), embedder: Embedder | None = None, int8: bool = False) -> Reader:
    """Load a shipped reader directory (base + weights, checksum-verified) or any HF QA model.

    Pass the loaded ``embedder`` when it is the reader's base model, so both share one embedding matrix;
    ``int8`` quantises the linear layers for CPU speed (see :func:`quantize`).
    """
    from .embedder import resolve_model_path

    path = Path(name)
    meta_path = path / META
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        weights = path / WEIGHTS
        if not weights.is_file():
            raise ModelError(f"reader weights missing: {weights}. Restore them with `git checkout -- {weights}` "
                             "or retrain with `python -m qa.train` and `python -m qa.export`.")
        from .store import sha256_file

        digest = sha256_file(weights)
        if digest != meta["sha256"]:
            raise ModelError(f"reader weights {weights} are corrupt (SHA-256 {digest[:12]}... expected "
                             f"{meta['sha256'][:12]}...). Restore them with `git checkout -- {weights}`.")
        base = meta.get("base", BUNDLED_EMBEDDER)
        shared, tokenizer = None, None
        if embedder is not None and embedder.name == base and embedder.fingerprint == meta.get("base_fingerprint"):
            shared, tokenizer = embedder.word_embeddings(), embedder.model.tokenizer
        model, tok = assemble(resolve_model_path(base), weights, shared, tokenizer)
        cal, threshold, label = meta["calibration"], meta["threshold"], f"{path.name}@{digest[:12]}"
    else:
        try:
            from transformers import AutoModelForQuestionAnswering, AutoTokenizer

            model = AutoModelForQuestionAnswering.from_pretrained(name)
            tok = AutoTokenizer.from_pretrained(name)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"cannot load reader {name!r} ({type(exc).__name__}: {exc}). Give the shipped reader "
                             f"directory ({DEFAULT_READER}) or a local question-answering model directory.") from exc
        cal, threshold, label = {"scale": 0.5, "bias": 0.0}, 0.5, name
    if int8:
        model, label = quantize(model), f"{label}/int8"
    return Reader(model, tok, scale=cal["scale"], bias=cal["bias"], threshold=threshold, name=label)
