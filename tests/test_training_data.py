"""The made training and validation data: exact offsets after de-tokenising, negatives without answers."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.metrics import normalize_answer
from qa.squad import Example
from qa.training.mix import detokenize, detokenized, news_examples
from qa.training.validation import pseudo_articles


def test_detokenize_news_punctuation() -> None:
    text = 'Sejak tahun 1980 - an di Kota ( Bau-Bau ) , kata " dua perusahaan " , orang - orang 50 % .'
    assert detokenize(text)[0] == 'Sejak tahun 1980-an di Kota (Bau-Bau), kata "dua perusahaan", orang-orang 50%.'
    assert detokenize("Jakarta - Presiden berkata")[0] == "Jakarta - Presiden berkata"  # a dash stays a dash


@given(st.lists(st.sampled_from(["kata", "Budi", "1980", ",", ".", "(", ")", "-", '"', "an", "%", "orang"]),
                min_size=1, max_size=30), st.data())
def test_detokenized_answers_keep_their_text(words: list[str], data: st.DataObject) -> None:
    context = " ".join(words)
    i = data.draw(st.integers(0, len(words) - 1))
    j = data.draw(st.integers(i, len(words) - 1))
    start = len(" ".join(words[:i])) + (1 if i else 0)
    answer = " ".join(words[i : j + 1])
    ex = detokenized(Example("x", "q ?", context, [answer], [start]))
    new, _ = detokenize(context)
    assert ex.context == new and new.replace(" ", "") == context.replace(" ", "")  # only spaces go
    got = ex.context[ex.starts[0] : ex.starts[0] + len(ex.answers[0])]
    assert got == ex.answers[0] and got.replace(" ", "") == answer.replace(" ", "")


def _facqa(contexts: list[tuple[str, str, str]]) -> list[Example]:
    return [Example(f"q{i}", q, c, [a], [c.index(a)]) for i, (q, c, a) in enumerate(contexts)]


NEWS = [
    ("Siapa gubernur Banten ?", "Gubernur Banten , Budi , meresmikan jembatan di Serang .", "Budi"),
    ("Di mana jembatan Banten diresmikan ?", "Jembatan Banten diresmikan di Serang oleh Budi .", "Serang"),
    ("Kapan gubernur Banten dilantik ?", "Gubernur Banten dilantik pada 2024 di Jakarta .", "2024"),
    ("Siapa wali kota Serang ?", "Wali kota Serang , Siti , hadir dalam acara itu .", "Siti"),
]


def test_made_negatives_hold_no_answer() -> None:
    news = news_examples(_facqa(NEWS), random.Random(0), neighbour_share=1.0)
    assert news.negatives and all(not n.answers for n in news.negatives)
    by_id = {ex.id: ex for ex in _facqa(NEWS)}
    for neg in news.negatives:
        gold = by_id[neg.id.removesuffix("-neg")]
        assert neg.context != detokenized(gold).context
        assert all(normalize_answer(a) not in normalize_answer(neg.context) for a in gold.answers)
    for ex in news.answerable:  # gold passage beside a neighbour: offsets still point at the answer
        assert all(ex.context[s : s + len(a)] == a for a, s in zip(ex.answers, ex.starts))


def test_pseudo_articles_unanswerable_questions_lack_their_answer(tmp_path) -> None:
    rows = [{"title": f"t{i}", "paragraphs": [{"context": c, "qas": [
        {"id": f"v{i}", "question": q, "is_impossible": False, "answers": [{"text": a, "answer_start": c.index(a)}]}]}]}
        for i, (q, c, a) in enumerate(NEWS * 3)]
    (tmp_path / "facqa_valid.json").write_text(json.dumps({"data": rows}))
    articles = pseudo_articles(tmp_path, sizes=(2, 3))
    answerable = [q for a in articles for q in a.questions if q.answers]
    unanswerable = [(a, q) for a in articles for q in a.questions if not q.answers]
    assert len(answerable) == len(rows) and unanswerable
    for art, q in unanswerable:
        gold = next(r for r in rows if r["paragraphs"][0]["qas"][0]["id"] == q.id.removesuffix("-removed"))
        assert normalize_answer(gold["paragraphs"][0]["qas"][0]["answers"][0]["text"]) not in normalize_answer(art.text)
    for art in articles:
        for q in art.questions:
            assert all(a in art.text for a in q.answers)


def test_average_of_checkpoints(tmp_path):
    import torch
    from safetensors.torch import load_file, save_file

    from qa.training.average import average

    save_file({"w": torch.tensor([1.0, 3.0], dtype=torch.float16)}, str(tmp_path / "a.safetensors"))
    save_file({"w": torch.tensor([3.0, 5.0])}, str(tmp_path / "b.safetensors"))
    average([tmp_path / "a.safetensors", tmp_path / "b.safetensors"], tmp_path / "soup" / "step1.safetensors")
    assert load_file(str(tmp_path / "soup" / "step1.safetensors"))["w"].tolist() == [2.0, 4.0]
    save_file({"v": torch.zeros(2)}, str(tmp_path / "c.safetensors"))
    with pytest.raises(SystemExit, match="different tensors"):
        average([tmp_path / "a.safetensors", tmp_path / "c.safetensors"], tmp_path / "x.safetensors")
