"""The evaluation script end to end on a small pairs file."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args, timeout=600):
    return subprocess.run([sys.executable, "eval/evaluate.py", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_end_to_end_report(tmp_path):
    pairs = tmp_path / "pairs.jsonl"
    rows = [{"id": "a", "question": "Siapa Penjabat Gubernur Banten?", "answers": ["A Damenta"]},
            {"id": "b", "question": "Kapan penghargaan diserahkan?", "answers": ["Rabu (8/1/2025)", "8/1/2025"]},
            {"id": "c", "question": "Berapa jumlah penduduk Provinsi Banten?", "answers": []}]
    pairs.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out_json, out_md, out_png = tmp_path / "r.json", tmp_path / "r.md", tmp_path / "r.png"
    proc = run("--pairs", str(pairs), "--json", str(out_json), "--markdown", str(out_md), "--plot", str(out_png))
    assert proc.returncode == 0, proc.stderr[-2000:]
    rep = json.loads(out_json.read_text())
    for key in ("exact_match", "f1", "answerable", "unanswerable", "retrieval", "latency_ms", "models", "failures",
                "sweep", "threshold"):
        assert key in rep
    assert rep["n"] == 3 and rep["answerable"]["n"] == 2 and rep["unanswerable"]["n"] == 1
    assert 0 <= rep["exact_match"] <= rep["f1"] <= 100
    assert rep["answerable"]["exact_match"] <= rep["answerable"]["f1"]
    r = rep["retrieval"]
    assert r["recall@1"] <= r["recall@3"] <= r["recall@5"] and 0 <= r["mrr"] <= 1
    assert rep["latency_ms"]["p50"] <= rep["latency_ms"]["p95"]
    assert rep["models"]["embedder"] and rep["models"]["reader"]
    assert len(rep["failures"]) == sum(1 for _ in rows) - round(rep["exact_match"] * 3 / 100)
    assert out_md.read_text().startswith("# Evaluation") and out_png.read_bytes()[:4] == b"\x89PNG"


def test_malformed_line_names_file_and_line(tmp_path):
    pairs = tmp_path / "bad.jsonl"
    pairs.write_text('{"id": "a", "question": "Q?", "answers": []}\n{"question": "no answers"}\n')
    proc = run("--pairs", str(pairs))
    assert proc.returncode == 2
    assert f"{pairs}:2" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_option_explains_itself():
    proc = run("--frobnicate")
    assert proc.returncode == 2 and "unrecognized arguments" in proc.stderr


def test_failure_causes_separate_retrieval_threshold_and_span_boundaries():
    """Each failure is filed under what must fix it: retrieval, the threshold, or the span."""
    sys.path.insert(0, str(ROOT / "eval"))
    from evaluate import Item, Result, cause

    gold = Item("q", "Di mana?", ["Pendopo Gubernur Banten"])
    none = Item("n", "Partai apa?", [])

    def res(item: Item, text: str | None, score: float = 0.9, read: bool = True) -> Result:
        return Result(item, text, score, 1.0, 1, read)

    assert cause(res(gold, "Pendopo Gubernur Banten", read=False), 0.5).startswith("retrieval")
    assert cause(res(gold, "Pendopo Gubernur Banten", 0.2), 0.5) == "right span declined"
    assert cause(res(gold, "di Pendopo Gubernur Banten, Serang"), 0.5) == "span too long"
    assert cause(res(gold, "Pendopo", 0.2), 0.5) == "span truncated (declined)"
    assert cause(res(gold, "Gubernur Banten di Serang"), 0.5) == "partly right span"
    assert cause(res(gold, "Kota Serang"), 0.5) == "wrong span"
    assert cause(res(gold, None, 0.0), 0.5) == "no span found"
    assert cause(res(none, "A Damenta"), 0.5) == "answered an unanswerable question"


def test_articles_folder_reports_types_and_confident_answers(tmp_path):
    from qa.settings import DEFAULT_ARTICLE

    folder = tmp_path / "dev"
    folder.mkdir()
    text = "Banten Raih Penghargaan HAM\n\n" + DEFAULT_ARTICLE.read_text(encoding="utf-8")
    (folder / "banten.txt").write_text(text, encoding="utf-8")
    rows = [{"id": "b1", "question": "Siapa Penjabat Gubernur Banten?", "answers": ["A Damenta"], "type": "who"},
            {"id": "b2", "question": "Kapan penghargaan diserahkan?", "answers": ["8/1/2025"], "type": "when"},
            {"id": "b3", "question": "Berapa jumlah penduduk Provinsi Banten?", "answers": [], "type": "how_many"}]
    (folder / "banten.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    proc = run("--articles", str(folder), "--json", str(out_json), "--markdown", str(out_md))
    assert proc.returncode == 0, proc.stderr[-2000:]
    rep = json.loads(out_json.read_text())
    assert rep["n"] == 3 and rep["dataset"] == "dev" and rep["mode"] == "open"
    assert set(rep["by_type"]) == {"who", "when"}  # unanswerable questions have no answerable F1
    assert rep["answerable"]["f1"] <= rep["answerable"]["f1_always_answering"] + 1e-9
    c = rep["confident"]
    assert 0 <= c["right"] <= c["n"] <= 3
    assert "yakin" in out_md.read_text() and "answerable F1, who (1)" in out_md.read_text()


def test_articles_asked_across_a_collection_report_article_hits(tmp_path):
    from qa import Collection
    from tests.test_collection import CABAI, KRL

    with Collection.create(tmp_path / "koleksi") as col:  # other articles, so the right one must be found
        col.add_text(CABAI, id="cabai")
        col.add_text(KRL, id="krl")
    folder = tmp_path / "dev"
    folder.mkdir()
    (folder / "kemenkeu.txt").write_text("Pegawai Kemenkeu Berkurang\n\nKementerian Keuangan mencatat jumlah "
                                         "pegawainya berkurang 979 orang sepanjang tahun ini.\n", encoding="utf-8")
    rows = [{"id": "k1", "question": "Berapa pegawai Kemenkeu yang berkurang?", "answers": ["979 orang"],
             "type": "how_many"},
            {"id": "k2", "question": "Siapa Menteri Keuangan?", "answers": [], "type": "who"}]
    (folder / "kemenkeu.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    proc = run("--articles", str(folder), "--collection", str(tmp_path / "koleksi"), "--json", str(out_json),
               "--markdown", str(out_md))
    assert proc.returncode == 0, proc.stderr[-2000:]
    rep = json.loads(out_json.read_text())
    assert rep["n"] == 2 and rep["article_hit"] == {"@1": 100.0, "@3": 100.0, "questions": 1, "articles": 3}
    assert rep["answerable"]["f1"] == 100.0 and "article hit@1 / @3" in out_md.read_text()
    assert run("--collection", str(tmp_path / "koleksi")).returncode == 2  # a collection needs --articles
    assert [a["article"] for a in rep["answers"]] == ["kemenkeu", None]  # the second is declined
    other = json.loads(out_json.read_text())
    other["answers"][0]["text"] = "980 orang"
    (tmp_path / "o.json").write_text(json.dumps(other), encoding="utf-8")
    agree = subprocess.run([sys.executable, "eval/agreement.py", str(out_json), str(tmp_path / "o.json")], cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    result = json.loads(agree.stdout)
    assert (result["questions"], result["same_answer"], result["same_answer_pct"]) == (2, 1, 50.0)


def test_agreement_piped_into_head_ends_quietly(tmp_path):
    runs = []
    for name, text in (("a", "979 orang"), ("b", "980 orang")):  # 3,000 differences: far more than a pipe holds
        answers = [{"id": f"q{i}", "text": text, "article": "kemenkeu"} for i in range(3000)]
        runs.append(tmp_path / f"{name}.json")
        runs[-1].write_text(json.dumps({"answers": answers}), encoding="utf-8")
    piped = subprocess.run(f"{sys.executable} eval/agreement.py {runs[0]} {runs[1]} | head -c 1", shell=True,
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert piped.stdout == "{" and piped.stderr == ""


def test_articles_folder_with_a_bad_gold_answer_names_the_line(tmp_path):
    (tmp_path / "x.txt").write_text("Judul\n\nIsi artikel ini pendek.\n", encoding="utf-8")
    (tmp_path / "x.jsonl").write_text('{"question": "Apa?", "answers": ["tidak ada"]}\n', encoding="utf-8")
    proc = run("--articles", str(tmp_path))
    assert proc.returncode == 2 and "x.jsonl:1" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [["--chunk-chars", "0"], ["--top-k", "0"], ["--json", "/nonexistent-dir/r.json"],
                                  ["--markdown", "/"], ["--plot", "/proc/forbidden.png"]])
def test_bad_options_fail_before_the_run(args):
    proc = run(*args, "--limit", "1", timeout=120)
    assert proc.returncode == 2 and "error:" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-1500:]
    assert "questions" not in proc.stderr  # no progress bar: nothing was evaluated


@pytest.mark.parametrize("args", [["--threshold", "nan"], ["--threshold", "7"], ["--limit", "-1"]])
def test_out_of_range_numbers_are_usage_errors(args):
    proc = run(*args, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


@pytest.mark.parametrize("line", ['{"question": "Siapa?", "answers": [null, 1, {}]}',
                                  '{"question": " ", "answers": []}', "[" * 100_000 + "]" * 100_000])
def test_bad_pairs_lines_name_file_and_line(tmp_path, line):
    pairs = tmp_path / "p.jsonl"
    pairs.write_text('{"question": "Siapa Penjabat Gubernur Banten?", "answers": ["A Damenta"]}\n' + line + "\n")
    proc = run("--pairs", str(pairs), timeout=120)
    assert proc.returncode == 2 and f"{pairs}:2" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-800:]


def test_deeply_nested_squad_file_is_a_clear_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    proc = run("--squad", str(path), timeout=120)
    assert proc.returncode == 2 and "not a readable JSON file" in proc.stderr and "Traceback" not in proc.stderr
