"""Short and full forms match both ways in keyword search, and nothing else changes."""

from qa.abbreviations import expand
from qa.retrieval import BM25Index


def test_short_and_full_forms_are_both_searched() -> None:
    assert "kementerian keuangan" in expand("Kemenkeu mencatat")
    assert "kemenkeu" in expand("Kementerian Keuangan mencatat")
    assert expand("Kapolres Boyolali") == "kapolres kepala kepolisian resor boyolali"


def test_words_that_merely_contain_a_short_form_are_left_alone() -> None:
    assert expand("Pemkabupaten hamparan") == "pemkabupaten hamparan"


def test_bm25_finds_the_full_form_from_the_short_one() -> None:
    texts = ["Kepala Kantor Wilayah Kementerian Hukum dan HAM Banten hadir.", "Gubernur Banten menyerahkan piala."]
    with_forms = BM25Index(texts, abbreviations=True).scores("Siapa kepala kanwil Banten?")
    without = BM25Index(texts, abbreviations=False).scores("Siapa kepala kanwil Banten?")
    assert with_forms[0] > with_forms[1]
    assert with_forms[0] > without[0]
