"""The chat app, launched for real: gradio_client against its /chat API, and Debian chromium via Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import pytest

from qa.metrics import normalize_answer

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    log = tmp_path_factory.mktemp("app") / "app.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
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
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def contains(reply: str, answers: list[str]) -> bool:
    return any(normalize_answer(a) in normalize_answer(reply) for a in answers)


ANSWERED = [
    ("Siapa Penjabat Gubernur Banten?", ["A Damenta"]),
    ("Kapan penghargaan diserahkan?", ["8/1/2025"]),
    ("Daerah mana yang meraih penghargaan Unit Kerja berbasis HAM?", ["Pandeglang"]),
]


def test_gradio_client_chat(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    for question, gold in ANSWERED:
        reply = client.predict(question, api_name="/chat")
        assert contains(reply, gold), (question, reply)
    declined = client.predict("Berapa jumlah penduduk Provinsi Banten?", api_name="/chat")
    assert declined.startswith("Maaf, jawabannya tidak ada di artikel."), declined
    assert "Silakan" in client.predict("   ", api_name="/chat")
    follow = client.predict("Kapan itu?", "Siapa yang menyerahkan penghargaan?", api_name="/chat")
    assert "8/1/2025" in follow


def test_refuses_public_host_without_flag():
    proc = subprocess.run([sys.executable, "app.py", "--host", "0.0.0.0"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "--expose" in proc.stderr


HTML_ARTICLE = """<!doctype html><html><head><title>Festival Durian Lampung</title></head><body>
<nav>Beranda | Berita | Kontak</nav>
<article><h1>Festival Durian Lampung</h1>
<p>Festival Durian Lampung digelar di Kota Metro pada Sabtu (14/2/2026). Panitia mencatat sekitar 12.000
pengunjung datang ke festival tersebut.</p>
<p>Ketua panitia, Siti Rahmawati, mengatakan festival berikutnya akan diadakan di Kabupaten Tanggamus.</p>
</article><footer>Hak cipta 2026</footer></body></html>"""

XSS_ARTICLE = ("Warga Desa Sukamaju menggelar rapat pada Senin. Kepala desa bernama Joko Santoso memimpin rapat itu. "
               "Catatan rapat berisi <script>alert(1)</script> dan <img src=x onerror=alert(1)> sebagai contoh.")


def test_browser(server, tmp_path, output_dir):
    if not Path(CHROMIUM).exists():
        warnings.warn("CHROMIUM NOT INSTALLED: the browser test is SKIPPED (apt-get install chromium)", stacklevel=1)
        print("\n" + "!" * 70 + "\n!!! chromium missing: browser test skipped\n" + "!" * 70)
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                    ignore_default_args=["--headless=new"], headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(server, wait_until="domcontentloaded", timeout=60_000)
        expect(page.locator("#article-view")).to_contain_text("Provinsi Banten", timeout=30_000)

        def ask(question: str) -> None:
            box = page.locator("#question textarea")
            box.fill(question)
            page.locator("#send").click()
            expect(box).to_have_value("", timeout=60_000)
            page.wait_for_timeout(500)

        ask("Kapan penghargaan diserahkan?")
        chat = page.locator("#chatbot")
        expect(chat).to_contain_text("8/1/2025", timeout=60_000)
        expect(chat).to_contain_text("Keyakinan")
        expect(page.locator("#article-view mark.answer")).to_contain_text("8/1/2025")
        chat.get_by_text("Sumber").last.click()
        expect(chat.locator("mark").last).to_contain_text("8/1/2025")
        page.screenshot(path=str(output_dir / "answer.png"), full_page=True)

        ask("Berapa jumlah penduduk Provinsi Banten?")
        expect(chat).to_contain_text("Maaf, jawabannya tidak ada di artikel.", timeout=60_000)

        # upload an HTML article and ask about it
        page.locator("#change-article").get_by_text("Ganti artikel").click()
        upload = tmp_path / "festival.html"
        upload.write_text(HTML_ARTICLE, encoding="utf-8")
        page.locator("#upload input[type=file]").set_input_files(str(upload))
        expect(page.locator("#status")).to_contain_text("Memuat", timeout=120_000)
        expect(page.locator("#article-view")).to_contain_text("Festival Durian Lampung")
        expect(page.locator("#article-view")).not_to_contain_text("Hak cipta")
        ask("Di kota mana festival durian digelar?")
        expect(chat).to_contain_text("Metro", timeout=60_000)

        # an article with script-looking text renders inert
        page.locator("#paste textarea").fill(XSS_ARTICLE)
        page.locator("#use-paste").click()
        expect(page.locator("#status")).to_contain_text("Memuat", timeout=120_000)
        view = page.locator("#article-view")
        expect(view).to_contain_text("<script>alert(1)</script>")
        expect(view).to_contain_text("<img src=x onerror=alert(1)>")
        assert view.locator("script, img").count() == 0
        ask("Apa isi catatan rapat?")
        page.wait_for_timeout(1500)
        assert chat.locator("script, img[src=x]").count() == 0
        page.screenshot(path=str(output_dir / "xss.png"), full_page=True)

        page.locator("#reset").click()
        expect(page.locator("#article-view")).to_contain_text("Provinsi Banten", timeout=30_000)
        browser.close()
    assert dialogs == [], f"script ran in the page: {dialogs}"


def test_bad_questions_through_the_app(server):
    from gradio_client import Client
    from test_bad_input import QUESTIONS

    client = Client(server, verbose=False)
    for name, question in QUESTIONS.items():
        reply = client.predict(question, api_name="/chat")
        assert isinstance(reply, str) and reply.strip(), name
        assert "Traceback" not in reply and "Error" not in reply, (name, reply)
    assert contains(client.predict("Siapa Penjabat Gubernur Banten?", api_name="/chat"), ["A Damenta"])


def test_unexpected_failure_is_answered_in_indonesian_and_serving_continues(default_qa):
    """A bug below the app (here: the article store failing once) gives a polite message, not "Error"."""
    from gradio_client import Client

    sys.path.insert(0, str(ROOT))
    import app

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
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        articles.failures = 1
        assert client.predict("Kapan penghargaan diserahkan?", api_name="/chat") == app.UNEXPECTED
        assert "8/1/2025" in client.predict("Kapan penghargaan diserahkan?", api_name="/chat")
    finally:
        demo.close()
