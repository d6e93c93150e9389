"""Common short forms of Indonesian government and news language, for keyword search.

News writes "Kementerian Keuangan" in one paragraph and "Kemenkeu" in the next, and people ask with
either. :func:`expand` adds the other form after each occurrence, so BM25 matches both ways. The list
is deliberately small and unambiguous (common ministries, offices, titles); it never changes the text
that is read or shown, only the words that are searched.
"""

from __future__ import annotations

import re

#: short form -> full form (lower case).
SHORT_FORMS = {
    "kemenkeu": "kementerian keuangan",
    "kemenkumham": "kementerian hukum dan hak asasi manusia",
    "kemenkum": "kementerian hukum",
    "kemenham": "kementerian hak asasi manusia",
    "kemendagri": "kementerian dalam negeri",
    "kemenlu": "kementerian luar negeri",
    "kemenhan": "kementerian pertahanan",
    "kemenag": "kementerian agama",
    "kemenkes": "kementerian kesehatan",
    "kemensos": "kementerian sosial",
    "kemendikbud": "kementerian pendidikan dan kebudayaan",
    "kemenhub": "kementerian perhubungan",
    "kemenperin": "kementerian perindustrian",
    "kemendag": "kementerian perdagangan",
    "kementan": "kementerian pertanian",
    "kemnaker": "kementerian ketenagakerjaan",
    "kemenpar": "kementerian pariwisata",
    "kemenpora": "kementerian pemuda dan olahraga",
    "kemenkomdigi": "kementerian komunikasi dan digital",
    "esdm": "energi dan sumber daya mineral",
    "kanwil": "kantor wilayah",
    "pemprov": "pemerintah provinsi",
    "pemkab": "pemerintah kabupaten",
    "pemkot": "pemerintah kota",
    "pemda": "pemerintah daerah",
    "pemdes": "pemerintah desa",
    "pj": "penjabat",
    "plt": "pelaksana tugas",
    "wagub": "wakil gubernur",
    "wabup": "wakil bupati",
    "wawali": "wakil wali kota",
    "kapolri": "kepala kepolisian negara republik indonesia",
    "kapolda": "kepala kepolisian daerah",
    "kapolres": "kepala kepolisian resor",
    "kapolsek": "kepala kepolisian sektor",
    "polda": "kepolisian daerah",
    "polres": "kepolisian resor",
    "polsek": "kepolisian sektor",
    "kajati": "kepala kejaksaan tinggi",
    "kajari": "kepala kejaksaan negeri",
    "kejati": "kejaksaan tinggi",
    "kejari": "kejaksaan negeri",
    "kejagung": "kejaksaan agung",
    "kpk": "komisi pemberantasan korupsi",
    "dpr": "dewan perwakilan rakyat",
    "dprd": "dewan perwakilan rakyat daerah",
    "mpr": "majelis permusyawaratan rakyat",
    "mk": "mahkamah konstitusi",
    "ma": "mahkamah agung",
    "pn": "pengadilan negeri",
    "bpk": "badan pemeriksa keuangan",
    "bi": "bank indonesia",
    "ojk": "otoritas jasa keuangan",
    "bps": "badan pusat statistik",
    "bmkg": "badan meteorologi klimatologi dan geofisika",
    "bnpb": "badan nasional penanggulangan bencana",
    "bpbd": "badan penanggulangan bencana daerah",
    "bnn": "badan narkotika nasional",
    "satpol pp": "satuan polisi pamong praja",
    "apbn": "anggaran pendapatan dan belanja negara",
    "apbd": "anggaran pendapatan dan belanja daerah",
    "tni": "tentara nasional indonesia",
    "polri": "kepolisian negara republik indonesia",
    "asn": "aparatur sipil negara",
    "pns": "pegawai negeri sipil",
    "bumn": "badan usaha milik negara",
    "umkm": "usaha mikro kecil dan menengah",
    "ham": "hak asasi manusia",
    "wni": "warga negara indonesia",
    "wna": "warga negara asing",
    "ott": "operasi tangkap tangan",
}

_FULL = {full: short for short, full in SHORT_FORMS.items()}
_PATTERN = re.compile(r"\b(" + "|".join(sorted(map(re.escape, [*SHORT_FORMS, *_FULL]), key=len, reverse=True))
                      + r")\b")


def expand(text: str) -> str:
    """Lower-cased ``text`` with the other form of each known short or full form added after it."""

    def both(m: re.Match[str]) -> str:
        found = m.group(1)
        return f"{found} {SHORT_FORMS.get(found) or _FULL[found]}"

    return _PATTERN.sub(both, text.lower())
