"""The chat app, launched for real: gradio_client against its /chat API, raw HTTP against the routes
it must refuse, and Debian chromium via Playwright (desktop and phone, with screenshots)."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from qa.metrics import normalize_answer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import app  # noqa: E402 - the app module, from the checkout
import guards  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path
    tmp: Path  # the app's TMPDIR: its upload directory is made inside

    def upload_dirs(self) -> list[Path]:
        return sorted(self.tmp.glob("tanya-artikel-uploads-*"))

    def upload_leftovers(self) -> list[Path]:
        """Files, and the per-upload folders, left in the upload directory (gradio's own folder aside)."""
        return [f for d in self.upload_dirs() for f in d.rglob("*") if f.name != "vibe_edit_history"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    tmp = tmp_path_factory.mktemp("app-tmp")
    log = tmp_path_factory.mktemp("app") / "app.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "TMPDIR": str(tmp)}
    env.pop("GRADIO_TEMP_DIR", None)
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"app exited early:\n{log.read_text()[-3000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            break
        except OSError:
            time.sleep(1)
    else:
        proc.kill()
        pytest.fail("app did not start within 300 s")
    yield Server(url, proc, log, tmp)
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def contains(reply: str, answers: list[str]) -> bool:
    return any(normalize_answer(a) in normalize_answer(reply) for a in answers)


def post(url: str, body: dict) -> tuple[int, str]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


ANSWERED = [
    ("Siapa Penjabat Gubernur Banten?", ["A Damenta"]),
    ("Kapan penghargaan diserahkan?", ["8/1/2025"]),
    ("Daerah mana yang meraih penghargaan Unit Kerja berbasis HAM?", ["Pandeglang"]),
]


def test_the_same_tentative_answer_through_every_door(server):
    """One policy: a declined answer with a plausible candidate is "Mungkin: ..." in the API, the CLI
    (text and JSON) and /chat, as in the page."""
    from gradio_client import Client

    question, candidate = first_tentative(TENTATIVE_CANDIDATES)
    reply = Client(server.url, verbose=False).predict(question, api_name="/chat")
    assert reply.startswith(f"Mungkin: {candidate}, kurang yakin"), reply
    cli = [sys.executable, "-m", "qa", "ask", question]
    text = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True, timeout=300).stdout
    assert text.startswith(f"Mungkin: {candidate} (kurang yakin"), text
    data = json.loads(subprocess.run([*cli, "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300).stdout)
    assert data["text"] is None and data["tentative"]["text"] == candidate
    plain = json.loads(subprocess.run([sys.executable, "-m", "qa", "ask", PLAIN_DECLINE, "--json"], cwd=ROOT,
                                      capture_output=True, text=True, timeout=300).stdout)
    assert plain["text"] is None and plain["tentative"] is None


def test_gradio_client_chat(server):
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    for question, gold in ANSWERED:
        reply = client.predict(question, api_name="/chat")
        assert contains(reply, gold), (question, reply)
    declined = client.predict("Berapa jumlah penduduk Provinsi Banten?", api_name="/chat")
    assert declined.startswith("Maaf, jawabannya tidak ada di artikel."), declined
    assert "Silakan" in client.predict("   ", api_name="/chat")
    follow = client.predict("Kapan itu?", "Siapa yang menyerahkan penghargaan?", api_name="/chat")
    assert "8/1/2025" in follow


@pytest.mark.parametrize("question", [5, [1, 2], {"q": "Siapa?"}, None])
def test_chat_api_with_a_question_that_is_not_text(server, question):
    from gradio_client import Client

    assert Client(server.url, verbose=False).predict(question, api_name="/chat") == app.EMPTY_PROMPT


def test_only_the_documented_endpoint_is_callable_over_http(server):
    """The page's own events (paste, upload, reset, ...) answer neither by name nor by fn_index."""
    config = json.loads(urllib.request.urlopen(server.url + "config", timeout=10).read())
    private = {d["api_name"]: d["id"] for d in config["dependencies"]
               if d.get("api_visibility") == "private" and d.get("backend_fn")}
    assert {"paste", "upload", "reset", "respond"} <= set(private)
    api = server.url + "gradio_api/"
    for name, fn_index in private.items():
        data = ["Teks pengganti. Kepala desa bernama Budi.", ""]
        for route in ("run/predict", "api/predict"):
            status, body = post(api + route, {"fn_index": fn_index, "data": data})
            assert status == 404, (route, name, status, body)
        for route in (f"run/{name}", f"call/{name}", f"call/v2/{name}"):
            status, body = post(api + route, {"data": data})
            assert status == 404, (route, status, body)
    assert post(api + "run/chat", {"data": ["Siapa Penjabat Gubernur Banten?", ""]})[0] == 404  # queue only
    status, body = post(api + "call/chat", {"data": ["Siapa Penjabat Gubernur Banten?", ""]})
    assert status == 200 and "event_id" in body
    from gradio_client import Client

    assert contains(Client(server.url, verbose=False).predict("Siapa Penjabat Gubernur Banten?", api_name="/chat"),
                    ["A Damenta"])


def test_chat_route_with_only_the_question_answers(server):
    status, body = post(server.url + "gradio_api/call/chat", {"data": ["Siapa Penjabat Gubernur Banten?"]})
    assert status == 200, body
    event = json.loads(body)["event_id"]
    with urllib.request.urlopen(f"{server.url}gradio_api/call/chat/{event}", timeout=120) as r:
        stream = r.read().decode()
    assert "event: complete" in stream and "Damenta" in stream, stream


@pytest.mark.parametrize(("route", "body", "code"), [
    ("gradio_api/queue/join", {"data": ["x"], "fn_index": 999, "session_hash": "abc"}, 404),
    ("gradio_api/queue/join", {"data": ["x"], "fn_index": "0", "session_hash": "abc"}, 404),
    ("gradio_api/queue/join", [1, 2], 400),
    ("gradio_api/call/chat", {"data": []}, 422),
    ("gradio_api/call/chat", {"data": ["a", "b", "c"]}, 422),
    ("gradio_api/call/chat", {"data": "Siapa?"}, 400),
])
def test_malformed_calls_are_client_errors_not_server_errors(server, route, body, code):
    status, text = post(server.url + route, body)
    assert status == code and "detail" in text, (status, text)
    assert "Traceback" not in server.log.read_text()[-5000:]


def test_every_indexing_event_is_queued_with_its_limit(default_qa):
    articles = app.Articles()
    articles.put(default_qa, app.DEFAULT_KEY)
    demo = app.build(articles)
    indexing = [fn for fn in demo.fns.values() if fn.name in ("upload", "paste", "from_link")]
    assert len(indexing) == 3
    for fn in indexing:
        # a few reads and fetches at once; indexing itself holds a lock (see the slow news site test)
        assert fn.queue and fn.concurrency_limit == 4 and fn.concurrency_id == "index", fn.name
    assert demo.api_open is False  # no route skips the queue


def test_refuses_public_host_without_flag():
    proc = subprocess.run([sys.executable, "app.py", "--host", "0.0.0.0"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "--expose" in proc.stderr


def test_port_in_use_is_one_error_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and str(port) in lines[0], proc.stderr[-2000:]


@pytest.mark.parametrize(("args", "env"), [(["--port", "99999"], {}), (["--port", "-1"], {}), (["--port", "x"], {}),
                                           ([], {"GRADIO_SERVER_PORT": "abc"}), ([], {"GRADIO_SERVER_PORT": "0"})])
def test_bad_port_is_one_error_line(args, env):
    proc = subprocess.run([sys.executable, "app.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: port"), proc.stderr[-2000:]


def test_escape_keeps_apostrophes_and_neutralises_markup():
    assert app.escape("Jum'at") == "Jum'at"
    assert app.escape("**a** <b>&") == r"\*\*a\*\* &lt;b&gt;&amp;"


def test_a_title_line_is_shown_as_the_heading_once(default_qa):
    class Article:
        article, title = "# Judul Berita\n\nIsi berita di sini.", None

    view = app.article_html(Article(), title="Judul Berita")
    assert "<h3>Judul Berita</h3>" in view and "# Judul" not in view and ">Isi berita di sini.<" in view
    Article.article = "Judul Berita\n\nIsi."
    assert '<mark class="answer">Isi.</mark>' in app.article_html(Article(), (14, 18), title="Judul Berita")
    assert "<h3>Lain</h3>" in app.article_html(Article(), title="Lain")  # another title: the text stays whole
    assert "Judul Berita\n\nIsi." in app.article_html(Article(), title="Lain")


def test_first_line_or_heading_is_the_title():
    assert app.first_line_title("\n  Banjir di Kota Metro  \nIsi berita.") == "Banjir di Kota Metro"
    assert app.first_line_title("Catatan redaksi\n\n## Banjir di Metro\nIsi.") == "Banjir di Metro"
    assert app.first_line_title("   \n") is None
    long = app.first_line_title("kata " * 100)
    assert long is not None and len(long) <= 121 and long.endswith("…")


def test_every_example_question_is_answered_right_and_firmly(default_qa, pairs):
    """The page offers these questions: each must get its right answer, not a "Mungkin"."""
    from qa.metrics import best_scores

    gold = {p["question"]: p["answers"] for p in pairs}
    for question in app.EXAMPLES:
        answer = default_qa.ask(question)
        assert answer.text is not None, (question, answer.tentative)
        assert best_scores(answer.text, gold[question])[0] == 1, (question, answer.text)


def test_tentative_answer_only_above_the_floor(default_qa):
    from qa.types import TENTATIVE_FLOOR, Answer

    p = default_qa.passages[0]
    start = default_qa.article.index("A Damenta")
    guess = Answer("A Damenta", TENTATIVE_FLOOR + 0.05, start, start + 9, p)
    messages = app.answer_messages(default_qa, Answer(None, 0.8, passage=p, alternatives=[guess]))
    assert messages[0]["content"].startswith("Mungkin: **A Damenta**, kurang yakin")
    assert "<mark>A Damenta</mark>" in messages[1]["content"]
    weak = Answer("A Damenta", TENTATIVE_FLOOR - 0.05, start, start + 9, p)
    messages = app.answer_messages(default_qa, Answer(None, 0.9, passage=p, alternatives=[weak]))
    assert messages[0]["content"] == app.DECLINE


def test_article_cache_is_bounded_and_a_session_keeps_its_article(default_qa):
    """An evicted article is indexed again from its session's text: never answered from another one."""
    from qa import ArticleQA

    articles = app.Articles(limit=2)
    articles.put(default_qa, app.DEFAULT_KEY)
    mine = ArticleQA.from_text("Kepala Desa Sukamaju bernama Joko Santoso. Rapat digelar pada Senin.")
    doc = {"key": articles.put(mine), "text": mine.article, "title": None}
    for other in ("Kepala Desa Sukajaya bernama Budi Hartono.", "Kepala Desa Sukamulya bernama Ani Lestari."):
        articles.put(ArticleQA.from_text(other))
    assert len(articles) == 2 and articles.get(doc["key"]) is None
    again = app.session_article(articles, doc)
    assert again.article == mine.article and again.sha256 == doc["key"]
    assert "Joko Santoso" in again.ask("Siapa kepala desa Sukamaju?", k=1).passage.text

    small = app.Articles(limit=10, max_passages=len(default_qa.passages) + 2)
    small.put(default_qa, app.DEFAULT_KEY)
    for text in ("Satu dua tiga. Empat lima.", "Enam tujuh delapan.", "Sembilan sepuluh."):
        small.put(ArticleQA.from_text(text))
    assert sum(len(small.get(k).passages) for k in list(small._items)) <= small.max_passages
    assert small.get(app.DEFAULT_KEY) is default_qa


def test_orphan_uploads_are_swept(tmp_path):
    """Files posted to the upload route without the upload event do not stay."""
    (tmp_path / "abc").mkdir()
    (tmp_path / "abc" / "x.pdf").write_bytes(b"%PDF")
    (tmp_path / "loose.txt").write_text("x")
    assert guards.sweep_uploads(tmp_path, max_age_s=3600) == 0
    assert guards.sweep_uploads(tmp_path, max_age_s=0) == 2
    assert list(tmp_path.iterdir()) == []


HTML_ARTICLE = """<!doctype html><html><head><title>Festival Durian Lampung</title></head><body>
<nav>Beranda | Berita | Kontak</nav>
<article><h1>Festival Durian Lampung</h1>
<p>Festival Durian Lampung digelar di Kota Metro pada Sabtu (14/2/2026). Panitia mencatat sekitar 12.000
pengunjung datang ke festival tersebut.</p>
<p>Ketua panitia, Siti Rahmawati, mengatakan festival berikutnya akan diadakan di Kabupaten Tanggamus.</p>
</article><footer>Hak cipta 2026</footer></body></html>"""

XSS_ARTICLE = ("Warga Desa Sukamaju menggelar rapat pada Senin. Kepala desa bernama Joko Santoso memimpin rapat itu. "
               "Catatan rapat berisi <script>alert(1)</script> dan <img src=x onerror=alert(1)> sebagai contoh.")
MARKDOWN_TITLE = "![t](http://127.0.0.1:9/x.png) **tebal**"
MARKDOWN_ARTICLE = ("Rapat Warga\n===\n- Budi hadir sebagai ketua.\n"
                    "1. Rapat digelar di Balai Desa Sukamaju pada Senin, biayanya $$x^2$$ rupiah.\n---\n"
                    "Catatan lengkap ada di https://contoh.id/rapat dan www.contoh.id.")
VILLAGES = ["Sukamaju", "Sukajaya", "Sukamulya", "Mekarsari", "Sindangsari", "Cibodas", "Karanganyar"]


def long_article(token: str, passages: int = 150) -> str:
    """About ``passages`` passages of distinct text (new each run, so it is really indexed)."""
    sentences = [f"# Laporan Desa {token}", ""]
    for i in range((passages * 400) // 95):
        v = VILLAGES[i % len(VILLAGES)]
        sentences.append(f"Pada hari Jum'at ke-{i}, warga Desa {v} membangun {i + 3} rumah baru di dusun nomor {i}.")
    return " ".join(sentences)


#: natural questions about the bundled article whose answers the reader finds but may doubt
TENTATIVE_CANDIDATES = [
    "Berapa kategori penghargaan yang ada?",
    "Di mana penghargaan diserahkan?",
    "Siapa pejabat sementara yang memimpin Provinsi Banten?",
    "Mengapa pemerintah daerah di Banten mendapat penghargaan?",
    "Which regency won the human rights based work unit award?",
    "Kategori apa yang diraih Kota Cilegon?",
]
PLAIN_DECLINE = "Berapa jumlah penduduk Provinsi Banten?"


def first_tentative(questions: list[str]) -> tuple[str, str]:
    """The first question the app would answer tentatively, with its candidate (asked as the app does)."""
    from qa import ArticleQA

    qa = ArticleQA.default()
    assert qa.ask(PLAIN_DECLINE).tentative is None, "the plain-decline question now has a candidate"
    for q in questions:
        span = qa.ask(q).tentative
        if span is not None:
            return q, span.text
    raise AssertionError(f"none of {questions} is answered tentatively: pick other natural questions")


def test_browser(server, tmp_path, output_dir):
    if not Path(CHROMIUM).exists():
        why = ("browser test SKIPPED: Debian's chromium is not installed. Enable it with "
               "`sudo apt-get install chromium` (.ci/run installs it and runs this test)")
        warnings.warn(why, stacklevel=1)
        print("\n" + "!" * 70 + f"\n!!! {why}\n" + "!" * 70)
        pytest.skip(why)
    from playwright.sync_api import expect, sync_playwright

    dialogs: list[str] = []
    image_requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                    ignore_default_args=["--headless=new"], headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: image_requests.append(r.url) if "127.0.0.1:9" in r.url else None)
        page.goto(server.url, wait_until="domcontentloaded", timeout=60_000)
        expect(page.locator("#article-view")).to_contain_text("Provinsi Banten", timeout=30_000)
        expect(page.locator("#active-title")).to_contain_text(app.DEFAULT_TITLE)
        expect(page.locator("#article-view h3")).to_have_text(app.DEFAULT_TITLE)
        chat = page.locator("#chatbot")
        # the empty chat leaves room for the rest of the first screen
        assert chat.bounding_box()["height"] < 0.5 * 1000
        page.screenshot(path=str(output_dir / "start.png"))

        def ask(question: str) -> None:
            box = page.locator("#question textarea")
            box.fill(question)
            page.locator("#send").click()
            expect(box).to_have_value("", timeout=60_000)
            expect(page.locator("#chatbot")).not_to_contain_text(app.SEARCHING, timeout=60_000)
            page.wait_for_timeout(500)

        def answer_in_view() -> bool:
            return page.evaluate("""() => {
                const m = document.querySelector('#article-view mark.answer');
                const box = m && m.closest('.article-text');
                if (!box) return false;
                const a = m.getBoundingClientRect(), b = box.getBoundingClientRect();
                return a.top >= b.top && a.bottom <= b.bottom;
            }""")

        ask("Kapan penghargaan diserahkan?")
        expect(chat).to_contain_text("8/1/2025", timeout=60_000)
        expect(chat).to_contain_text("Keyakinan")
        expect(page.locator("#article-view mark.answer")).to_contain_text("8/1/2025")
        chat.get_by_text("Sumber").last.click()
        expect(chat.locator("mark").last).to_contain_text("8/1/2025")
        page.screenshot(path=str(output_dir / "answer.png"), full_page=True)

        # an answer near the end of the article: the article panel scrolls to it
        ask("Daerah mana yang meraih penghargaan Unit Kerja berbasis HAM?")
        expect(page.locator("#article-view mark.answer")).to_contain_text("Pandeglang", timeout=60_000)
        page.wait_for_timeout(500)
        assert answer_in_view(), "the highlighted answer is scrolled out of the article panel"
        assert page.evaluate("getComputedStyle(document.querySelector('#article-view .article-text'))"
                             ".scrollbarGutter") == "stable"  # the panel shows that it scrolls

        # a declined answer with a plausible candidate (between the floor and the reader's threshold)
        # is offered tentatively and highlighted; which question does that depends on the reader, so
        # the library (the app's own code path) picks one, and the browser must show what it found
        question, candidate = first_tentative(TENTATIVE_CANDIDATES)
        ask(question)
        expect(chat).to_contain_text(f"Mungkin: {candidate}, kurang yakin", timeout=60_000)
        expect(page.locator("#article-view mark.answer.tentative")).to_have_text(candidate)
        page.wait_for_timeout(500)
        assert answer_in_view()
        # nothing plausible: the plain decline
        ask(PLAIN_DECLINE)
        expect(chat).to_contain_text("Maaf, jawabannya tidak ada di artikel.", timeout=60_000)
        # apostrophes in a question are shown as typed (never as an entity)
        ask("Apa yang terjadi pada hari Jum'at?")
        expect(chat).to_contain_text("hari Jum'at?", timeout=60_000)
        assert "&#x27;" not in chat.inner_text() and "&amp;" not in chat.inner_text()
        # screen readers get the rendered text of each message, in Indonesian, without markup
        labels = [el.get_attribute("aria-label") or "" for el in chat.locator("[data-testid=bot], [data-testid=user]")
                  .all()]
        assert labels and all(x.startswith(("Jawaban: ", "Pertanyaan Anda: ")) for x in labels), labels
        assert not any(m in x for x in labels for m in ("**", "<mark>", "&#", "message:")), labels
        # the chat follows the conversation: the newest answer is in view
        last_box, chat_box = chat.locator("[data-testid=bot]").last.bounding_box(), chat.bounding_box()
        assert chat_box["y"] <= last_box["y"] < chat_box["y"] + chat_box["height"], (last_box, chat_box)
        page.screenshot(path=str(output_dir / "tentative.png"))

        # a refused upload: Indonesian message, no file left behind
        page.locator("#change-article").get_by_text("Ganti artikel").click()
        picker = page.locator("#change-article input[type=file]")
        assert picker.get_attribute("accept") == ",".join(app.UPLOAD_TYPES)  # the picker offers these types
        pdf = tmp_path / "laporan.pdf"
        pdf.write_bytes(b"%PDF-1.4 bukan teks")
        page.locator("#change-article input[type=file]").set_input_files(str(pdf))
        expect(page.locator("#status")).to_contain_text("Jenis berkas tidak didukung", timeout=60_000)
        expect(page.locator("#load-status")).to_contain_text("Jenis berkas tidak didukung")  # by the controls too
        shown = page.locator("body").inner_text()
        assert not any(en in shown for en in ("Invalid file", "Drop File", "Click to Upload", "Built with")), shown

        # a long .txt upload: progress moves per batch, sits under the chat, ends with "siap"
        page.evaluate("""() => { window.seen = []; new MutationObserver(() =>
            window.seen.push(document.querySelector('#status').innerText)).observe(
            document.querySelector('#status'), {subtree: true, childList: true, characterData: true}); }""")
        token = uuid.uuid4().hex[:8]
        txt = tmp_path / "laporan.txt"
        txt.write_text(long_article(token), encoding="utf-8")
        page.locator("#change-article input[type=file]").set_input_files(str(txt))
        expect(page.locator("#status progress")).to_be_visible(timeout=60_000)
        assert "processing" not in page.locator("body").inner_text().lower()
        page.screenshot(path=str(output_dir / "progress.png"))
        expect(page.locator("#status")).to_contain_text("siap", timeout=300_000)
        expect(page.locator("#status")).to_contain_text(f"Laporan Desa {token}")  # the heading is the title
        expect(page.locator("#status")).not_to_contain_text("Gagal")  # the earlier error line is gone
        assert not any(ord(c) > 0x2000 and c not in "“”‘’…" for c in page.locator("#status").inner_text())  # no emoji
        seen = page.evaluate("window.seen")
        moving = {s for s in seen if "%" in s and "(0%)" not in s}
        assert len(moving) >= 2, f"progress did not move with the work: {seen}"
        status_box, chat_box = page.locator("#status").bounding_box(), chat.bounding_box()
        assert 0 <= status_box["y"] - (chat_box["y"] + chat_box["height"]) < 80, (status_box, chat_box)
        ask("Berapa rumah baru yang dibangun warga Desa Cibodas pada hari Jum'at ke-5?")
        expect(chat).to_contain_text("Jum'at ke-", timeout=60_000)  # the answer's passage, rendered
        expect(page.locator("#article-view")).to_contain_text("Jum'at ke-5,")
        assert "&#x27;" not in chat.inner_text() + page.locator("#article-view").inner_text()

        # an HTML article: main text only
        upload = tmp_path / "festival.html"
        upload.write_text(HTML_ARTICLE, encoding="utf-8")
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # down at the article controls
        page.locator("#change-article input[type=file]").set_input_files(str(upload))
        expect(page.locator("#status")).to_contain_text("Festival Durian Lampung", timeout=120_000)
        page.wait_for_timeout(800)
        assert page.evaluate("window.scrollY") == 0, "the page stayed scrolled down after loading an article"
        expect(page.locator("#article-view")).not_to_contain_text("Hak cipta")
        # the chat names the article it answers about; the bundled article's examples are gone
        expect(page.locator("#active-title")).to_contain_text("Festival Durian Lampung")
        expect(page.locator("#article-view h3")).to_have_text("Festival Durian Lampung")  # a heading, once
        assert not page.locator("#article-view .article-text").inner_text().startswith("Festival Durian Lampung\n")
        expect(page.get_by_text("Contoh pertanyaan")).to_be_hidden()
        ask("Di kota mana festival durian digelar?")
        expect(chat).to_contain_text("Metro", timeout=60_000)
        expect(page.locator("#article-view mark.answer")).to_have_count(1)
        page.locator("#clear").click()  # the conversation and its highlight go, the article stays
        expect(page.locator("#article-view mark.answer")).to_have_count(0, timeout=30_000)
        expect(page.locator("#article-view")).to_contain_text("Kota Metro")
        assert server.upload_leftovers() == [], "uploads (or their folders) stay on disk"

        # an article with script-looking text renders inert; a Markdown title stays text
        page.locator("#paste-title textarea").fill(MARKDOWN_TITLE)
        page.locator("#paste textarea").fill(XSS_ARTICLE)
        page.locator("#use-paste").click()
        expect(page.locator("#status")).to_contain_text("siap", timeout=120_000)
        expect(page.locator("#status")).to_contain_text(MARKDOWN_TITLE)
        assert page.locator("#status img, #status strong").count() == 0
        view = page.locator("#article-view")
        expect(view).to_contain_text("<script>alert(1)</script>")
        expect(view).to_contain_text("<img src=x onerror=alert(1)>")
        assert view.locator("script, img").count() == 0
        ask("Apa isi catatan rapat?")
        page.wait_for_timeout(1500)
        assert chat.locator("script, img[src=x]").count() == 0
        page.screenshot(path=str(output_dir / "xss.png"), full_page=True)

        # Markdown and math in an article and a question are shown as text: no math, links, lists,
        # headings or rules, and every marker stays visible
        page.locator("#paste-title textarea").fill("")
        page.locator("#paste textarea").fill(MARKDOWN_ARTICLE)
        page.locator("#use-paste").click()
        # the previous article's status also said "siap": wait until it is replaced
        expect(page.locator("#status")).not_to_contain_text("tebal", timeout=120_000)
        expect(page.locator("#status")).to_contain_text("siap", timeout=120_000)
        ask("Di mana rapat digelar $$x^2$$ menurut https://contoh.id?")
        expect(chat).to_contain_text("$$x^2$$ menurut https://contoh.id?", timeout=60_000)
        page.screenshot(path=str(output_dir / "markdown.png"), full_page=True)
        expect(chat).to_contain_text("1. Rapat digelar di Balai Desa Sukamaju")  # the passage shown with the reply
        markup = "#chatbot :is(.katex, a[href], ol, ul, li, h1, h2, hr)"
        assert page.locator(markup).count() == 0, page.locator(markup).all_inner_texts()

        page.locator("#reset").click()
        expect(page.locator("#article-view")).to_contain_text("Provinsi Banten", timeout=30_000)
        expect(page.locator("#active-title")).to_contain_text(app.DEFAULT_TITLE)
        expect(page.get_by_text("Contoh pertanyaan")).to_be_visible()

        # a phone: the article is on the first screen, above a chat that does not fill it
        phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        phone.goto(server.url, wait_until="domcontentloaded", timeout=60_000)
        expect(phone.locator("#article-view")).to_contain_text("Provinsi Banten", timeout=30_000)
        article_box = phone.locator("#article-view").bounding_box()
        phone_chat = phone.locator("#chatbot").bounding_box()
        assert article_box["y"] < 844 / 2 and article_box["y"] < phone_chat["y"], (article_box, phone_chat)
        assert phone_chat["height"] < 844 / 2
        phone.screenshot(path=str(output_dir / "phone-start.png"))
        phone.locator("#question textarea").fill("Daerah mana yang meraih penghargaan Unit Kerja berbasis HAM?")
        phone.locator("#send").click()
        expect(phone.locator("#article-view mark.answer")).to_contain_text("Pandeglang", timeout=60_000)
        phone.wait_for_timeout(500)
        assert phone.evaluate("""() => {
            const m = document.querySelector('#article-view mark.answer'), box = m.closest('.article-text');
            const a = m.getBoundingClientRect(), b = box.getBoundingClientRect();
            return box.scrollTop > 0 && a.top >= b.top && a.bottom <= b.bottom; }""")
        phone.screenshot(path=str(output_dir / "phone-answer.png"), full_page=True)
        browser.close()
    assert dialogs == [], f"script ran in the page: {dialogs}"
    assert image_requests == [], f"a title fetched an image: {image_requests}"
    console = server.log.read_text()
    assert " DEBUG " not in console and "it/s]" not in console and "embed:" not in console, console[-2000:]


def test_bad_questions_through_the_app(server):
    from gradio_client import Client
    from test_bad_input import QUESTIONS

    client = Client(server.url, verbose=False)
    for name, question in QUESTIONS.items():
        reply = client.predict(question, api_name="/chat")
        assert isinstance(reply, str) and reply.strip(), name
        assert "Traceback" not in reply and "Error" not in reply, (name, reply)
    assert contains(client.predict("Siapa Penjabat Gubernur Banten?", api_name="/chat"), ["A Damenta"])


def test_huge_question_is_refused_at_the_edge(server):
    from gradio_client import Client

    client = Client(server.url, verbose=False)
    assert client.predict("Siapa? " * 20_000, api_name="/chat") == app.TOO_LONG_QUESTION
    assert client.predict("Siapa? " * 20_000, "x" * 5_000_000, api_name="/chat") == app.TOO_LONG_QUESTION
    long_previous = client.predict("Kapan itu?", "Siapa yang menyerahkan penghargaan? " * 100, api_name="/chat")
    assert long_previous and "Traceback" not in long_previous  # an over-long earlier turn is capped, not an error


def test_unexpected_failure_is_answered_in_indonesian_and_serving_continues(default_qa):
    """A bug below the app (here: the article store failing once) gives a polite message, not "Error"."""
    from gradio_client import Client

    class Flaky(app.Articles):
        failures = 0

        def get(self, key):
            if self.failures:
                self.failures -= 1
                raise RuntimeError("disk on fire")
            return super().get(key)

    articles = Flaky()
    articles.put(default_qa, app.DEFAULT_KEY)
    demo = app.build(articles)
    app.launch(demo, "127.0.0.1", free_port(), prevent_thread_lock=True, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        articles.failures = 1
        assert client.predict("Kapan penghargaan diserahkan?", api_name="/chat") == app.UNEXPECTED
        assert "8/1/2025" in client.predict("Kapan penghargaan diserahkan?", api_name="/chat")
    finally:
        demo.close()


@contextlib.contextmanager
def local_app(default_qa, allow_private_urls: bool = False):
    """The app in this process on a free loopback port (with the bundled article loaded), closed after."""
    articles = app.Articles()
    articles.put(default_qa, app.DEFAULT_KEY)
    demo = app.build(articles, allow_private_urls=allow_private_urls)
    app.launch(demo, "127.0.0.1", free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield demo, articles
    finally:
        demo.close()


def page_event(url: str, api_name: str, data: list, session: str | None = None,
               headers: dict[str, str] | None = None) -> list:
    sys.path.insert(0, str(ROOT / "eval"))
    from loadtest import page_event as run

    return run(url, api_name, data, timeout=300, session=session, headers=headers)


@pytest.fixture()
def news_site(tmp_path):
    """A news page on a loopback http.server (the only network here)."""
    import functools
    import http.server
    import threading

    (tmp_path / "berita.html").write_text(HTML_ARTICLE, encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def test_news_link_refused_for_a_local_address_by_default(server, news_site):
    status = page_event(server.url, "from_link", [news_site + "berita.html"])[1]
    assert "jaringan lokal atau privat" in status, status
    status = page_event(server.url, "from_link", ["ftp://contoh.id/berita"])[1]
    assert "Alamat tidak valid" in status, status


def test_news_link_loads_with_the_private_address_flag(default_qa, news_site):
    with local_app(default_qa, allow_private_urls=True) as (demo, articles):
        _, status, view, *_ = page_event(demo.local_url, "from_link", [news_site + "berita.html"])
        assert "siap" in status and "Festival Durian Lampung" in status, status
        assert "Kota Metro" in view and "Hak cipta" not in view
        status = page_event(demo.local_url, "from_link", [news_site + "tidak-ada.html"])[1]
        assert "tidak dapat dibuka" in status, status


def test_a_slow_news_site_does_not_hold_up_another_session(default_qa):
    """A link to a server that drips one byte a second is fetched outside the indexing lock and its
    queue slot: another session's paste is indexed meanwhile."""
    import threading

    from test_fetch import Dripping

    drip = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Dripping)
    threading.Thread(target=drip.serve_forever, daemon=True).start()
    try:
        with local_app(default_qa, allow_private_urls=True) as (demo, articles):
            link: list = []
            slow = threading.Thread(target=lambda: link.append(page_event(
                demo.local_url, "from_link", [f"http://127.0.0.1:{drip.server_address[1]}/headers"])))
            slow.start()
            time.sleep(2)
            t0 = time.monotonic()
            status = page_event(demo.local_url, "paste", ["Festival kopi digelar di Lampung pada Sabtu.", "Kopi"])[1]
            assert "siap" in status and time.monotonic() - t0 < 10, status
            assert slow.is_alive()  # the link is still being fetched
            slow.join(60)
            assert "tidak dapat dibuka" in link[0][1] or "lambat" in link[0][1], link
    finally:
        drip.shutdown()
        drip.server_close()


def multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
             f"Content-Type: text/plain\r\n\r\n".encode() + data + b"\r\n" for name, data in files]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def upload_files(url: str, files: list[tuple[str, bytes]], keep: bool = False,
                 headers: dict[str, str] | None = None) -> tuple[int, str]:
    body, kind = multipart(files)
    req = urllib.request.Request(url + "gradio_api/upload", data=body,
                                 headers={"content-type": kind, **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            text = r.read().decode()
            for path in [] if keep else json.loads(text):  # tests leave nothing behind
                guards.remove_upload(Path(path), Path(path).parent.parent)
            return r.status, text
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_upload_route_is_bounded_per_request_and_per_client(default_qa):
    with local_app(default_qa) as (demo, articles):
        url = demo.local_url
        status, text = upload_files(url, [("a.txt", b"satu"), ("b.txt", b"dua")])
        assert status == 413 and "satu berkas" in text
        status, text = upload_files(url, [("besar.txt", b"x" * (guards.MAX_UPLOAD_BYTES + 100_000))])
        assert status == 413 and "terlalu besar" in text
        assert upload_files(url, [("a.txt", b"Artikel pendek.")])[0] == 200
        chunk = b"x" * (guards.MAX_UPLOAD_BYTES - 1000)
        statuses = [upload_files(url, [(f"{i}.txt", chunk)])[0]
                    for i in range(guards.UPLOAD_BYTES_PER_CLIENT // len(chunk) + 1)]
        assert statuses[:-1] == [200] * (len(statuses) - 1) and statuses[-1] == 429, statuses


def test_an_upload_is_read_only_for_the_client_that_sent_it(default_qa):
    with local_app(default_qa) as (demo, articles):
        alice, mallory = (f"{guards.CLIENT_COOKIE}={uuid.uuid4().hex}" for _ in range(2))
        with urllib.request.urlopen(demo.local_url, timeout=30) as page:  # the page hands out the cookie
            assert guards.CLIENT_COOKIE in (page.headers.get("set-cookie") or "")
        status, text = upload_files(demo.local_url, [("berita.txt", HTML_ARTICLE.encode())], keep=True,
                                    headers={"cookie": alice})
        assert status == 200, text
        path = json.loads(text)[0]
        file = {"path": path, "orig_name": "berita.txt", "meta": {"_type": "gradio.FileData"}}
        status_line = page_event(demo.local_url, "upload", [file], headers={"cookie": mallory})[1]
        assert "tidak ditemukan" in status_line and Path(path).exists(), status_line  # not taken, not deleted
        status_line = page_event(demo.local_url, "upload", [file], headers={"cookie": alice})[1]
        assert "siap" in status_line and not Path(path).exists(), status_line
        folder = tmp_dir = Path(path).parent.parent / "kosong.txt"
        tmp_dir.mkdir()
        try:  # a folder inside the upload directory is no upload: refused, no crash
            status_line = page_event(demo.local_url, "upload", [{**file, "path": str(folder)}],
                                     headers={"cookie": alice})[1]
            assert "tidak ditemukan" in status_line and folder.is_dir(), status_line
        finally:
            folder.rmdir()


def test_sessions_pasting_the_same_text_keep_their_own_titles(default_qa):
    with local_app(default_qa) as (demo, articles):
        text = "Festival kopi digelar di Lampung pada Sabtu. Panitia mencatat 120 petani ikut serta."
        for session, title in (("sesi-a", "Judul Sesi A"), ("sesi-b", "Judul Sesi B")):
            status = page_event(demo.local_url, "paste", [text, title], session=session)[1]
            assert title in status, status
        assert len(articles) == 2  # the bundled article and one shared index of the pasted text
        for session, own, other in (("sesi-a", "Sesi A", "Sesi B"), ("sesi-b", "Sesi B", "Sesi A")):
            page_event(demo.local_url, "show_question", ["Di mana festival kopi digelar?", []], session=session)
            _, view, *_ = page_event(demo.local_url, "respond", [None, [], None, None, ""], session=session)
            assert own in str(view) and other not in str(view), str(view)[:300]


def test_stopping_the_app_removes_its_upload_directory(server):
    """Last in this module: it stops the shared server (as `kill` would) and looks for leftovers."""
    dirs = server.upload_dirs()
    assert len(dirs) == 1, dirs
    server.proc.terminate()
    assert server.proc.wait(timeout=30) == 0
    assert not dirs[0].exists(), "the upload directory stayed after the app stopped"
    log = server.log.read_text()
    assert "Keyboard interruption" not in log and "Traceback" not in log, log[-2000:]
    assert "pre-processing before quantization" not in log


def test_missing_article_at_start_is_one_indonesian_line():
    proc = subprocess.run([sys.executable, "app.py", "--article", "tidak-ada.txt", "--port", str(free_port())],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and lines[-1] == "error: Berkas artikel tidak ditemukan. (tidak-ada.txt)", proc.stderr
