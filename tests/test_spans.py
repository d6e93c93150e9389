"""Span rules applied after the model marks an answer: whole words, and counts with what they count."""

from __future__ import annotations

import pytest

from qa.spans import counted_words, snap_span, with_counted_noun


@pytest.mark.parametrize("text,span,expected", [
    ("pada Rabu (8/1/2025).", (10, 21), "8/1/2025"),
    ("pada Rabu (8/1/2025).", (5, 21), "Rabu (8/1/2025)"),
    ("oleh A Damenta, bersama", (5, 15), "A Damenta"),
    ("kata Penghargaan", (7, 12), "Penghargaan"),
    ("“Alhamdulillah,”", (0, 16), "Alhamdulillah"),
])
def test_snap_span(text, span, expected):
    a, b = snap_span(text, *span)
    assert text[a:b] == expected


@pytest.mark.parametrize("question,text,span,expected", [
    # the question names what is counted: it joins the count
    ("Berapa pabrik besar yang dimiliki LG?", "LG punya dua pabrik besar di Indonesia.", "dua", "dua pabrik besar"),
    ("Berapa pasal yang didakwakan?", "Ia didakwa dua pasal alternatif.", "dua", "dua pasal"),
    # words the question does not name, joiners and the next line stay out
    ("Berapa pabrik yang dimiliki LG?", "LG punya dua pabrik di Cikarang.", "dua", "dua pabrik"),
    ("Berapa korban yang dievakuasi?", "Sebanyak 40 orang dievakuasi.", "40", "40"),
    ("Pabrik LG ada berapa di Indonesia?", "Ada dua pabrik LG di Indonesia.", "dua", "dua"),
    ("Ada berapa undang-undang yang diubah?", "Sebanyak 12 undang-undang diubah.", "12", "12 undang-undang"),
    ("Berapa pegawai yang diperiksa?", "Jumlahnya 26\npegawai diperiksa.", "26", "26"),
    # "tahun berapa" asks which year, not how many of what follows
    ("Sejak tahun berapa LG punya pabrik?", "Sejak 1990 LG punya pabrik.", "1990", "1990"),
    # only counts, and only for "berapa" questions
    ("Siapa direktur pabrik itu?", "Budi direktur pabrik itu.", "Budi", "Budi"),
    ("Kapan pabrik dibuka?", "Dibuka 1990 pabrik itu.", "1990", "1990"),
    # money and shares are amounts, not counts
    ("Berapa harga tiket kereta?", "Harga Rp 5.000 tiket kereta.", "Rp 5.000", "Rp 5.000"),
    ("Berapa persen suara partai?", "Meraih 12 persen suara partai.", "12 persen", "12 persen"),
])
def test_count_takes_the_counted_noun_the_question_names(question, text, span, expected):
    start = text.index(span)
    a, b = with_counted_noun(text, start, start + len(span), counted_words(question))
    assert text[a:b] == expected
