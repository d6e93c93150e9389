"""SQuAD v2-style metrics, including the official script's edge cases."""

import pytest

from qa.metrics import best_scores, exact_match, f1_score, normalize_answer


@pytest.mark.parametrize("text,expected", [
    ("Rabu (8/1/2025).", "rabu 8/1/2025"),
    ("  R. Natanegara   Kartika ", "r natanegara kartika"),
    ("Rp 1.500,5 juta", "rp 1.500,5 juta"),
    ("“Kabupaten/Kota Peduli HAM”", "kabupaten kota peduli ham"),
    ("The award", "the award"),  # no English article stripping
    ("ＦＵＬＬ－ｗｉｄｔｈ", "full width"),
])
def test_normalisation(text, expected):
    assert normalize_answer(text) == expected


def test_exact_and_f1():
    assert exact_match("8/1/2025", "(8/1/2025)") == 1.0
    assert f1_score("Rabu 8/1/2025", "8/1/2025") == pytest.approx(2 / 3)
    assert f1_score("Kota Serang", "Kabupaten Serang") == pytest.approx(0.5)
    assert f1_score("sama sama", "sama") == pytest.approx(2 / 3)  # counts repeated tokens like SQuAD
    assert f1_score("lain", "beda") == 0.0


def test_empty_prediction_and_empty_gold_follow_squad_v2():
    assert best_scores(None, []) == (1.0, 1.0)  # declined an unanswerable question
    assert best_scores("", []) == (1.0, 1.0)
    assert best_scores("A Damenta", []) == (0.0, 0.0)  # answered an unanswerable question
    assert best_scores(None, ["A Damenta"]) == (0.0, 0.0)  # declined an answerable one
    assert f1_score("", "") == 1.0 and f1_score("x", "") == 0.0 and f1_score("", "x") == 0.0


def test_several_golds_take_the_best():
    em, f1 = best_scores("8/1/2025", ["Rabu (8/1/2025)", "8/1/2025"])
    assert (em, f1) == (1.0, 1.0)
    em, f1 = best_scores("Rabu", ["Rabu (8/1/2025)", "Senin"])
    assert em == 0.0 and f1 == pytest.approx(2 / 3)
    # golds that normalise to nothing count as "no answer"
    assert best_scores(None, ["...", "—"]) == (1.0, 1.0)
