"""ONNX Runtime inference: each model is exported once with torch, then runs without it.

Why: torch + transformers + sentence-transformers take seconds to import and hundreds of MB (cold
start 12.5 s and 1.06 GB with them, about 4 s and 0.62 GB without; ``python eval/bench.py``), and
ONNX Runtime also runs this small encoder somewhat faster than torch eager. The exported graphs take
``inputs_embeds``: the 250k-row word-embedding matrix stays outside them, in one memory-mapped
``.npy`` file that the embedder and a reader built on the same base share (one 384 MB copy, paged
in by the OS as rows are used).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import mmap
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from . import integrity
from .integrity import CheckedMatrix
from .settings import in_cache

GRAPH = "model.onnx"
EMBEDDINGS = "word_embeddings.npy"
TOKENIZER = "tokenizer.json"
META = "runtime.json"
#: Bump when the exported folder layout or graph changes: old folders are then re-exported.
EXPORT_VERSION = "2"
#: Other exports of the same kind unused this long are deleted (see :func:`prune_stale`).
STALE_DAYS = 14
#: A temporary export folder this old belongs to an export that was killed (an export takes a minute or two).
STALE_EXPORT_S = 3600.0
log = logging.getLogger(__name__)


class _Engine:
    """What every engine of an exported graph shares: the word-embedding lookup outside the graph."""

    word_embeddings: np.ndarray | CheckedMatrix

    def _inputs(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, np.ndarray]:
        embeds = np.asarray(self.word_embeddings[input_ids], dtype=np.float32)
        return {"inputs_embeds": embeds, "attention_mask": attention_mask.astype(np.int64, copy=False)}

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def map(self, feeds: Iterable[tuple[np.ndarray, np.ndarray]]) -> Iterator[np.ndarray]:
        """The first output for each ``(input_ids, attention_mask)``, in order."""
        for input_ids, attention_mask in feeds:
            yield self(input_ids, attention_mask)[0]

    def release_pages(self) -> None:
        """Drop the word-embedding rows a bulk run paged in from this process's resident memory.

        They stay in the OS page cache, so using them again costs a minor page fault, not a disk read;
        1,200 passages of a 1 MB article touched about 240 MB of the 384 MB matrix.
        """
        matrix = getattr(self.word_embeddings, "array", self.word_embeddings)  # a CheckedMatrix maps it in .array
        mapped = getattr(matrix, "_mmap", None)  # numpy's memmap keeps its mmap.mmap here
        if mapped is not None and hasattr(mmap, "MADV_DONTNEED"):
            mapped.madvise(mmap.MADV_DONTNEED)


class Encoder(_Engine):
    """One ONNX Runtime session; ``__call__(input_ids, attention_mask)`` returns the graph's outputs."""

    def __init__(self, folder: Path, word_embeddings: np.ndarray | CheckedMatrix | None = None,
                 threads: int | None = None, spinning: bool = False) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
        # each session has its own thread pool; spinning threads of the embedder's pool would steal
        # the cores from the reader's pool right after (measured: ask() 169 ms with, about 100 without).
        # ``spinning`` is for bulk work with nothing else running (a collection build: 104 -> 122 passages/s)
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        self.folder, self.threads = folder, threads
        self.meta: dict[str, Any] = json.loads((folder / META).read_text())
        self.session = ort.InferenceSession(str(folder / GRAPH), options, providers=["CPUExecutionProvider"])
        self._release = ort.RunOptions()  # see shrink_arena
        self._release.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        self.word_embeddings: np.ndarray | CheckedMatrix = word_embeddings if word_embeddings is not None else np.load(
            folder / EMBEDDINGS, mmap_mode="r")

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, self._inputs(input_ids, attention_mask))

    def shrink_arena(self) -> None:
        """Return the memory ONNX Runtime's arena holds beyond what a one-token run needs.

        The arena keeps the largest working memory any run needed (hundreds of MB after indexing a
        large article). Shrinking after every batch would cost 10-25% of the indexing rate (the
        memory is allocated again for the next batch), so it is done once, after indexing.
        """
        dim = self.word_embeddings.shape[1]
        self.session.run(None, {"inputs_embeds": np.zeros((1, 1, dim), np.float32),
                                "attention_mask": np.ones((1, 1), np.int64)}, self._release)


@functools.cache
def bf16_available() -> bool:
    """Whether :class:`Bf16Encoder` can run: the ``openvino`` package is installed and the CPU computes
    bf16 natively (AMX or AVX-512 BF16); elsewhere OpenVINO would emulate it, slower than int8."""
    try:
        import openvino as ov

        return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except Exception:  # noqa: BLE001 - not installed, or a broken install: the ONNX Runtime path serves
        return False


class Bf16Encoder(_Engine):
    """An exported fp32 graph compiled by OpenVINO with bf16 arithmetic, for bulk embedding.

    On a CPU with AMX it embeds about 3x faster than ONNX Runtime in fp32 and 1.5x faster than its
    dynamic int8 (``python eval/scale.py``), and its vectors stay within 1e-4 cosine of fp32: unlike
    int8 they are the fp32 model's, so an index built with it is queried by the fp32 embedder.
    """

    def __init__(self, encoder: Encoder) -> None:
        import openvino as ov

        threads = encoder.threads or len(os.sched_getaffinity(0))
        self.folder, self.meta, self.word_embeddings = encoder.folder, encoder.meta, encoder.word_embeddings
        # one stream per core, each running its own batch: on 2 cores 1.6x the rate of one batch on both
        self.model = ov.Core().compile_model(str(encoder.folder / GRAPH), "CPU", {
            "INFERENCE_PRECISION_HINT": "bf16", "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "THROUGHPUT"})
        # a second batch queued per stream, so that preparing the next never leaves a core idle (+5%)
        self.jobs = 2 * max(1, int(self.model.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> list[np.ndarray]:
        return [self.model(self._inputs(input_ids, attention_mask))[0]]

    def map(self, feeds: Iterable[tuple[np.ndarray, np.ndarray]]) -> Iterator[np.ndarray]:
        """Up to ``jobs`` batches in flight (one per stream) while the next is prepared; outputs in order."""
        import openvino as ov

        queue = ov.AsyncInferQueue(self.model, self.jobs)
        done: dict[int, np.ndarray] = {}
        queue.set_callback(lambda request, i: done.__setitem__(i, request.get_output_tensor(0).data.copy()))
        ready = 0
        for i, (input_ids, attention_mask) in enumerate(feeds):
            queue.start_async(self._inputs(input_ids, attention_mask), i)  # waits while every stream is busy
            while ready in done:
                yield done.pop(ready)
                ready += 1
        queue.wait_all()
        while ready in done:
            yield done.pop(ready)
            ready += 1

def load_encoder(key: str, build: Callable[[Path], None], word_embeddings: np.ndarray | CheckedMatrix | None = None,
                 threads: int | None = None) -> Encoder:
    """The cached export ``key`` in an ONNX Runtime session; a damaged export is made again, once.

    Damaged means: it differs from the integrity record written with it (its own word-embedding
    matrix is checked as rows are used, see :class:`qa.integrity.CheckedMatrix`), or it fails to load.
    """
    folder = exported(key, build)
    try:
        return _open_export(folder, key, build, word_embeddings, threads)
    except Exception as exc:  # noqa: BLE001 - truncated graph, bad JSON, changed bytes: the cache is disposable
        log.warning("exported model %s is damaged (%s: %s); exporting it again", folder, type(exc).__name__, exc)
        return _open_export(_export_again(folder, key, build), key, build, word_embeddings, threads)


def _export_again(folder: Path, key: str, build: Callable[[Path], None]) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    return exported(key, build)


def _open_export(folder: Path, key: str, build: Callable[[Path], None],
                 word_embeddings: np.ndarray | CheckedMatrix | None, threads: int | None) -> Encoder:
    record = integrity.verify(folder, lazy={EMBEDDINGS})
    if word_embeddings is None:
        def remake() -> tuple[Path, list[str]]:
            again = _export_again(folder, key, build)
            return again / EMBEDDINGS, integrity.verify(again, lazy={EMBEDDINGS})["files"][EMBEDDINGS]["blocks"]

        word_embeddings = CheckedMatrix(folder / EMBEDDINGS, record["files"][EMBEDDINGS]["blocks"], remake)
    return Encoder(folder, word_embeddings, threads)


def folder_key(kind: str, source: str) -> str:
    """A cache folder name that changes whenever the source model or the export format does."""
    return f"{kind}-{hashlib.sha256(f'{source}|{EXPORT_VERSION}'.encode()).hexdigest()[:20]}"


def exported(key: str, build: Callable[[Path], None]) -> Path:
    """The cached export ``key``, built by ``build(folder)`` on first use (atomically)."""
    return in_cache(lambda root: _exported_in(root / "onnx", key, build), "exported models")


def _complete(folder: Path) -> bool:
    """Written to the end: the metadata and the integrity record are the last files an export writes."""
    return (folder / META).is_file() and (folder / integrity.RECORD).is_file()


def _exported_in(root: Path, key: str, build: Callable[[Path], None]) -> Path:
    target = root / key
    if root.is_dir():  # what killed exports left, on every start, not only before the next export
        with contextlib.suppress(OSError):
            integrity.remove_stale(root, [".export-*"], STALE_EXPORT_S)
    if _complete(target):
        with contextlib.suppress(OSError):  # a read-only cache still serves its exports
            os.utime(target / META)  # last use, for prune_stale
    else:
        root.mkdir(parents=True, exist_ok=True)
        if target.exists():
            log.warning("exported model %s is incomplete (a file was deleted, or it predates integrity records); "
                        "exporting it again", target)
        print(f"tanya-artikel: exporting {key} for ONNX Runtime into {target} (one time)...", file=sys.stderr,
              flush=True)
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=root))
        try:
            in_child(build, tmp)
            integrity.write_record(tmp)
            if target.exists() and not _complete(target):  # the incomplete one: a rename cannot replace it
                shutil.rmtree(target)
            try:
                tmp.rename(target)
            except OSError:  # another process finished first: theirs is as good as ours
                if not _complete(target):
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    prune_stale(root, key)
    return target


#: The child's program: run the pickled build, report a failure as its last stderr line.
_CHILD = """
import pickle, sys
from pathlib import Path
build, folder = pickle.load(sys.stdin.buffer)
try:
    build(Path(folder))
except BaseException as exc:
    sys.stderr.write(f"\\n{type(exc).__name__}: {exc}\\n")
    sys.exit(1)
"""


def in_child(build: Callable[[Path], None], folder: Path) -> None:
    """``build(folder)`` in a fresh Python process, or here when ``build`` cannot be sent to one (a closure).

    An export imports torch and transformers (about 1 GB); in a child, that memory goes back to the
    system when it ends instead of staying with the app for its whole life. A new interpreter, not a
    fork (which could inherit a lock held by another thread) nor multiprocessing's spawn (which imports
    the caller's script again: a script without ``if __name__ == "__main__"`` would fail on its first
    export). A failure in the child is raised here with its message.
    """
    import pickle
    import subprocess

    try:
        payload = pickle.dumps((build, str(folder)))
    except (pickle.PicklingError, AttributeError, TypeError):
        build(folder)
        return
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # what this process imports
    proc = subprocess.run([sys.executable, "-c", _CHILD], input=payload, capture_output=True, env=env)
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = lines[-1] if lines else f"the export process ended with code {proc.returncode}"
        raise RuntimeError(f"exporting into {folder} failed: {detail}")


def prune_stale(root: Path, key: str, max_age_days: float = STALE_DAYS) -> None:
    """Delete other exports of the same kind unused for ``max_age_days``.

    Every new reader or export format leaves a few hundred MB behind (the embedder's folder alone
    holds a 384 MB matrix); exports of other kinds, and recently used ones, are kept.
    """
    kind = key.rsplit("-", 1)[0]
    cutoff = time.time() - max_age_days * 86400
    for folder in root.glob(f"{kind}-*"):
        meta = folder / META
        if folder.name == key or folder.name.rsplit("-", 1)[0] != kind or not meta.is_file():
            continue
        try:
            if meta.stat().st_mtime < cutoff:
                shutil.rmtree(folder)
                log.info("removed %s, an export unused for %g days", folder, max_age_days)
        except OSError as exc:  # in use elsewhere, or not ours to delete: keep it
            log.debug("could not remove %s (%s)", folder, exc)


def export_graph(model: Any, folder: Path, outputs: tuple[str, ...], meta: dict[str, Any]) -> None:
    """Export a transformers model as a graph from ``inputs_embeds`` + ``attention_mask`` to ``outputs``."""
    import warnings

    import torch

    class Graph(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
            out = self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask)
            return tuple(out[name] for name in outputs)

    # the explicit attention graph runs about 10% faster in ONNX Runtime than the exported SDPA path
    model.set_attn_implementation("eager")
    hidden = int(model.config.hidden_size)
    example = (torch.randn(2, 16, hidden), torch.ones(2, 16, dtype=torch.long))
    axes = {name: {0: "batch", 1: "tokens"} for name in ("inputs_embeds", "attention_mask", *outputs)}
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow on shapes
        torch.onnx.export(Graph().eval(), example, str(folder / GRAPH), input_names=["inputs_embeds", "attention_mask"],
                          output_names=list(outputs), dynamic_axes=axes, opset_version=17, dynamo=False)
    (folder / META).write_text(json.dumps({"outputs": list(outputs), **meta}, indent=2) + "\n")


def save_embeddings(model: Any, folder: Path) -> None:
    np.save(folder / EMBEDDINGS, model.get_input_embeddings().weight.detach().float().numpy())


def save_tokenizer(tokenizer: Any, folder: Path) -> None:
    """The fast tokenizer's ``tokenizer.json`` (the Rust ``tokenizers`` library loads it without transformers)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        from .errors import ModelError

        raise ModelError("only models with a fast (tokenizer.json) tokenizer are supported")
    backend.save(str(folder / TOKENIZER))


def load_tokenizer(folder: Path) -> Any:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(folder / TOKENIZER))


def quantize_int8(folder: Path, keep_fp32: Callable[[str], bool]) -> None:
    """Dynamic int8 quantisation of the graph's MatMul weights (per channel), in place.

    ``keep_fp32(node_name)`` names the products that stay fp32 (see :func:`qa.reader.int8_exempt`).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = folder / GRAPH
    names = [n.name for n in onnx.load(str(graph), load_external_data=False).graph.node if n.op_type == "MatMul"]
    fp32 = folder / "fp32.onnx"
    graph.rename(fp32)
    logging.disable(logging.WARNING)  # its advice to pre-process first is for convolution models, not ours
    try:
        quantize_dynamic(fp32, graph, per_channel=True, weight_type=QuantType.QInt8,
                         nodes_to_exclude=[n for n in names if keep_fp32(n)])
    finally:
        logging.disable(logging.NOTSET)
    fp32.unlink()
