"""The shipped reader: loads from the repository, verified, decodes well, answers honestly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa import Answer, ArticleQA, ModelError, Passage, Reader
from qa.metrics import best_scores
from qa.reader import META, WEIGHTS, load_reader
from qa.settings import DEFAULT_READER, Settings

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "qa"


@pytest.fixture(scope="module")
def reader() -> Reader:
    return Reader.default()


def test_shipped_weights_are_compact_and_verified(reader):
    meta = json.loads((DEFAULT_READER / META).read_text())
    size = (DEFAULT_READER / WEIGHTS).stat().st_size
    assert size < 50 * 1024 * 1024
    assert reader.name.endswith(meta["sha256"][:12])
    assert 0.0 < reader.threshold < 1.0


def test_corrupt_or_missing_weights_name_the_file(tmp_path):
    broken = tmp_path / "reader"
    shutil.copytree(DEFAULT_READER, broken)
    data = bytearray((broken / WEIGHTS).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (broken / WEIGHTS).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="corrupt") as err:
        load_reader(str(broken))
    assert WEIGHTS in str(err.value) and "git checkout" in str(err.value)
    (broken / WEIGHTS).unlink()
    with pytest.raises(ModelError, match="missing"):
        load_reader(str(broken))


def test_read_offsets_into_context(reader):
    context = "Festival Durian digelar di Kota Metro pada Sabtu. Ketua panitia adalah Siti Rahmawati."
    # threshold 0: this checks offsets and the span, not the calibration (the shipped model's
    # probability here, 0.375, sits just under its validation-tuned threshold of 0.376)
    answer = reader.read("Siapa ketua panitia festival?", context, Settings(no_answer_threshold=0.0))
    assert isinstance(answer, Answer) and answer.text is not None
    assert context[answer.start:answer.end] == answer.text
    assert "Siti" in answer.text and 0.0 <= answer.score <= 1.0


def test_count_answers_carry_what_the_question_counts(reader):
    context = "Sejak 1990 LG memiliki dua pabrik besar di Indonesia, yakni di Cibitung dan Tangerang."
    loose = Settings(no_answer_threshold=0.0)
    assert reader.read("Berapa pabrik besar yang dimiliki LG di Indonesia?", context, loose).text == "dua pabrik besar"
    assert reader.read("Sejak tahun berapa LG punya pabrik?", context, loose).text == "1990"


def _read_count(reader, monkeypatch) -> list[int]:
    """Passages given to each ``margins`` call (what the reader actually reads)."""
    counts: list[int] = []
    real = Reader.margins

    def counted(self, question, passages, settings):
        counts.append(len(passages))
        return real(self, question, passages, settings)

    monkeypatch.setattr(Reader, "margins", counted)
    return counts


def test_more_passages_are_read_only_when_the_first_give_no_answer(reader, monkeypatch):
    article = ("Harga cabai merah di Pekanbaru naik pekan ini.\n\n"
               "Cuaca di Riau diperkirakan cerah sepanjang pekan.\n\n"
               "Ketua panitia Festival Durian adalah Siti Rahmawati, kata juru bicara panitia.")
    paras = [(0, 46), (48, 97), (99, len(article))]
    weather, answer_at = (Passage(article[a:b], a, b, 1.0 - i / 10, i) for i, (a, b) in enumerate(paras[1:]))
    counts = _read_count(reader, monkeypatch)
    question = "Siapa ketua panitia Festival Durian?"
    found = reader.read_passages(question, article, [weather], Settings(), more=[answer_at])
    assert counts == [1, 1] and found.text is not None and "Siti" in found.text
    assert article[found.start : found.end] == found.text and found.passage == answer_at
    counts.clear()
    first = reader.read_passages(question, article, [answer_at], Settings(), more=[weather])
    assert counts == [1] and first.text == found.text  # answered from the first: the rest is not read
    counts.clear()
    without = reader.read_passages(question, article, [weather], Settings())
    assert counts == [1] and without.text is None


def test_ask_reads_further_only_below_the_threshold(default_qa, monkeypatch):
    counts = _read_count(default_qa.reader, monkeypatch)
    confident = default_qa.ask("Siapa Penjabat Gubernur Banten?")
    assert confident.score >= default_qa.reader.threshold and counts == [default_qa.settings.top_k]
    counts.clear()
    declined = default_qa.ask("Berapa jumlah penduduk Provinsi Banten?")
    assert declined.text is None and counts == [default_qa.settings.top_k, default_qa.settings.top_k_more]


def test_tiny_contexts(reader):
    for context in ("a", "Siti.", "!"):
        answer = reader.read("x", context)
        assert answer.text is None or context[answer.start:answer.end] == answer.text


def test_ask_contract(default_qa):
    answer = default_qa.ask("Siapa Penjabat Gubernur Banten?")
    assert answer.text and default_qa.article[answer.start:answer.end] == answer.text
    assert "Damenta" in answer.text and 0.0 <= answer.score <= 1.0
    assert answer.passage is not None and answer.passage.start <= answer.start < answer.end <= answer.passage.end
    spans = [(answer.start, answer.end)] + [(a.start, a.end) for a in answer.alternatives]
    for i, (s1, e1) in enumerate(spans):
        for s2, e2 in spans[i + 1:]:
            assert e1 <= s2 or e2 <= s1, "alternatives overlap"


def test_declines_when_article_does_not_say(default_qa):
    answer = default_qa.ask("Berapa jumlah penduduk Provinsi Banten?")
    assert answer.text is None and answer.start == -1 and 0.0 <= answer.score <= 1.0
    assert answer.passage is not None  # the closest passage, offered as a hint


def test_follow_up_questions(default_qa):
    from qa.conversation import contextual_query

    cases = [
        ("Siapa yang menyerahkan penghargaan?", "Kapan itu?", "8/1/2025"),
        ("Siapa yang menyerahkan penghargaan?", "Di mana itu terjadi?", "Pendopo"),
        ("Daerah mana yang meraih penghargaan Unit Kerja berbasis HAM?", "Siapa Pj Gubernurnya?", "Damenta"),
        ("Penghargaan ini terdiri dari berapa kategori?", "Apa saja kategorinya?", "Peduli HAM"),
        ("Kapan Hari Hak Asasi Manusia Sedunia diperingati?", "Siapa yang menjelaskan hal itu?", "Natanegara"),
    ]
    # The follow-up logic decides what is read: the passage holding the answer must be among them,
    # and the follow-up is answered from the article, not declined for want of a candidate. Whether
    # the reader then picks the right span is the reader's quality, measured by eval/evaluate.py
    # (the shipped reader's best candidate is right for 3 of these 5).
    for first, second, expected in cases:
        a1 = default_qa.ask(first)
        context = contextual_query(second, first, a1.text)
        assert context, second
        passages = default_qa.retrieve(second, context=context)
        assert any(expected.lower() in p.text.lower() for p in passages), (first, second)
        a2 = default_qa.ask(second, context=context)
        assert a2.text or a2.alternatives, (first, second)


def test_tydiqa_sample_regression_guard(reader):
    path = SHARED / "tydiqa_goldp_id_dev.json"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    from qa.squad import load_squad

    sample = load_squad(path)[::10]  # fixed sample: every tenth question (57)
    f1 = [best_scores(reader.read(e.question, e.context).text, e.answers)[1] for e in sample]
    assert 100 * sum(f1) / len(f1) >= 60


def test_long_question_is_truncated_not_fatal(default_qa):
    """Within max_question_chars but past the reader's question tokens: cut, not an error."""
    answer = default_qa.ask("Kapan penghargaan diserahkan? " + "kata " * 190)
    assert answer.score >= 0.0


def test_articleqa_shares_models():
    a = ArticleQA.from_text("Andi tinggal di Medan.")
    b = ArticleQA.from_text("Budi tinggal di Solo.")
    assert a.embedder is b.embedder and a.reader is b.reader
    # one embedding matrix in memory, full size, used by both models, and one tokenizer
    assert a.reader.encoder.word_embeddings is a.embedder.word_embeddings()
    assert a.reader.tokenizer is a.embedder.tokenizer
    rows, dim = a.embedder.word_embeddings().shape
    assert rows >= a.reader.tokenizer.get_vocab_size() and dim == 384


def test_onnx_runtime_reader_matches_torch(reader):
    """The exported graph computes what the torch model computes (same logits, same answer)."""
    import numpy as np
    import torch

    from qa.embedder import load_embedder, resolve_model_path
    from qa.reader import WEIGHTS, assemble
    from qa.settings import BUNDLED_EMBEDDER, DEFAULT_READER

    model = assemble(resolve_model_path(BUNDLED_EMBEDDER), DEFAULT_READER / WEIGHTS)
    matrix = load_embedder().word_embeddings()
    context = "Festival Durian digelar di Kota Metro pada Sabtu. Ketua panitia adalah Siti Rahmawati."
    passages = [Passage(context, 0, len(context), 1.0, 0), Passage(context[:50], 0, 50, 0.5, 1)]
    ids, mask, _ = reader._windows("Siapa ketua panitia festival?", passages, Settings())
    ours = reader.encoder(ids, mask)
    with torch.inference_mode():
        out = model(inputs_embeds=torch.from_numpy(np.array(matrix[ids])), attention_mask=torch.from_numpy(mask))
    for got, want in zip(ours, (out.start_logits, out.end_logits)):
        valid = mask.astype(bool)
        assert np.abs(got[valid] - want.numpy()[valid]).max() < 1e-3


def test_long_contexts_are_read_in_bounded_batches_or_refused(monkeypatch):
    from qa import ArticleError, Reader
    from qa import reader as reader_module

    reader = Reader.default()
    sizes: list[int] = []
    encoder = reader.encoder
    monkeypatch.setattr(reader, "encoder", lambda ids, mask: (sizes.append(len(ids)), encoder(ids, mask))[1])
    context = "Festival kopi digelar di Lampung pada Sabtu. " * 400  # ~18 KB: many windows
    answer = reader.read("Di mana festival kopi digelar?", context)
    assert answer.text is None or context[answer.start:answer.end] == answer.text
    assert len(sizes) > 1 and max(sizes) <= reader_module.READ_BATCH
    for bad, reason in (("x" * (reader_module.MAX_READ_CHARS + 1), "too_large"), (None, "not_text"),
                        (b"bytes", "not_text")):
        with pytest.raises(ArticleError) as err:
            reader.read("Apa?", bad)  # type: ignore[arg-type]
        assert err.value.reason == reason
