from hypothesis import given, settings
from hypothesis import strategies as st

from qa.chunking import chunk, split_sentences

TRICKY = (
    "Kepala Kanwil, R. Natanegara Kartika Purnama, hadir pada Rabu (8/1/2025). Dr. Budi dan Pj Gubernur "
    "membuka acara No. 3 dengan anggaran Rp 1.5 miliar. Inflasi naik 2.5 persen. “Kami bangga. Sangat "
    "bangga,” ujar Drs. H. Ahmad. Acara selesai pukul 12.30 WIB!"
)


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_no_break_at_abbreviations_initials_dates_decimals_quotes():
    got = sentences(TRICKY)
    assert got == [
        "Kepala Kanwil, R. Natanegara Kartika Purnama, hadir pada Rabu (8/1/2025).",
        "Dr. Budi dan Pj Gubernur membuka acara No. 3 dengan anggaran Rp 1.5 miliar.",
        "Inflasi naik 2.5 persen.",
        "“Kami bangga. Sangat bangga,” ujar Drs. H. Ahmad.",
        "Acara selesai pukul 12.30 WIB!",
    ]


def test_sentence_ends_are_found():
    assert sentences("Satu dua. Tiga empat? Lima! “Enam.” Tujuh.") == ["Satu dua.", "Tiga empat?", "Lima!",
                                                                       "“Enam.”", "Tujuh."]


def test_lines_always_split():
    assert sentences("Judul berita\n\nIsi paragraf pertama.\nParagraf kedua") == [
        "Judul berita", "Isi paragraf pertama.", "Paragraf kedua"]


def test_bundled_article_chunks(article):
    spans = chunk(article, 400, 1)
    assert 5 <= len(spans) <= 30
    assert all(b - a <= 400 for a, b in spans)
    covered = "".join(article[a:b] for a, b in spans)
    for word in article.split():
        assert word in covered
    # passages start at sentence starts (never mid-initial like "Natanegara" after "R.")
    assert not any(article[a:b].startswith("Natanegara") for a, b in spans)


def test_overlap_repeats_sentences():
    text = " ".join(f"Kalimat nomor {i} ada di sini." for i in range(20))
    no, one = chunk(text, 120, 0), chunk(text, 120, 1)
    assert len(one) > len(no)
    assert all(one[i + 1][0] < one[i][1] for i in range(len(one) - 1))


def test_long_sentence_is_split_at_spaces():
    text = "kata " * 300
    spans = chunk(text, 100, 0)
    assert all(b - a <= 100 for a, b in spans)
    assert all(not text[a:b].startswith(" ") and not text[a:b].endswith(" ") for a, b in spans)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("ab .!?\n“”\"()R1/,") + ["Dr. ", "Pj ", " A. ", "8/1/2025", "\r", "\t"]),
                max_size=150).map("".join),
       st.integers(min_value=5, max_value=200), st.integers(min_value=0, max_value=3))
def test_offsets_always_map_back(text, size, overlap):
    for a, b in chunk(text, size, overlap):
        assert 0 <= a < b <= len(text)
        piece = text[a:b]
        assert piece == piece.strip() and piece
    for a, b in split_sentences(text):
        assert text[a:b].strip() == text[a:b]


def test_passages_never_cross_blank_lines():
    text = "Dokumen satu kalimat A. Kalimat B.\n\nDokumen dua kalimat C. Kalimat D."
    spans = chunk(text, 1000, 1)
    assert [text[a:b] for a, b in spans] == ["Dokumen satu kalimat A. Kalimat B.", "Dokumen dua kalimat C. Kalimat D."]


def test_headline_is_not_a_passage() -> None:
    from qa.chunking import chunk, headline

    text = "Purbaya Buka Suara soal Sidang Kabinet\n\nMenteri Keuangan Purbaya berbicara. Ia hadir.\n\nParagraf dua."
    assert headline(text) == (0, len("Purbaya Buka Suara soal Sidang Kabinet"))
    spans = chunk(text, 400)
    assert [text[a:b] for a, b in spans] == ["Menteri Keuangan Purbaya berbicara. Ia hadir.", "Paragraf dua."]


def test_first_sentences_and_lone_lines_are_not_headlines() -> None:
    from qa.chunking import chunk, headline

    assert headline("Provinsi Banten meraih penghargaan.\n\nParagraf dua.") is None  # a sentence, not a title
    assert headline("Judul saja\n\n") is None  # nothing after it: the title is all there is to read
    assert headline("Judul\nbaris dua\n\nIsi.") is None  # no blank line right after the first line
    assert headline("J" * 201 + "\n\nIsi.") is None
    assert chunk("Judul saja\n\n", 400) == [(0, 10)]


def test_unclosed_quote_is_split_in_linear_time(monkeypatch) -> None:
    """Timing-free: the characters scanned for quotes grow with the text, not with its square."""
    from qa import chunking

    scanned = [0]
    inside = chunking._QuoteState.inside

    def counting(self, pos: int) -> bool:
        scanned[0] += pos - self.pos
        return inside(self, pos)

    monkeypatch.setattr(chunking._QuoteState, "inside", counting)
    work = []
    for n in (2000, 4000):
        scanned[0] = 0
        text = '"' + "Ab. Cd. " * n
        assert chunking.split_sentences(text) == [(0, len(text) - 1)]  # one sentence: the quote never closes
        work.append(scanned[0])
    assert work[0] <= len('"' + "Ab. Cd. " * 2000) and work[1] < 3 * work[0]


def test_sentence_at_matches_the_sentences(default_qa) -> None:
    from qa.chunking import split_sentences

    spans = split_sentences(default_qa.article)
    for a, b in spans[:10]:
        assert default_qa.sentence_at(a + 1, b - 1) == (a, b)
    (a, _), (_, d) = spans[0], spans[1]
    assert default_qa.sentence_at(a, d) == (a, d)  # a span over two sentences gets both


def test_sentence_spans_are_computed_once_per_article(monkeypatch) -> None:
    from qa import ArticleQA, pipeline

    calls = []
    real = pipeline.split_sentences
    monkeypatch.setattr(pipeline, "split_sentences", lambda text: calls.append(1) or real(text))
    qa = ArticleQA.from_text("Budi membeli sepeda di Bandung. Ani membeli buku di Jakarta. Harga sepeda Rp 2 juta.")
    for _ in range(5):  # every answer asks for its sentence
        qa.sentence_at(3, 8)
    assert len(calls) == 1
