"""``python app.py --collection``: the chat across a collection, through /chat and in a real browser."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa import Collection
from tests.test_app import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port
from tests.test_collection import CABAI, KEMENKEU, KRL

sys.path.insert(0, str(ROOT))
import app  # noqa: E402
import collection_app  # noqa: E402


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("collection") / "koleksi"
    col = Collection.create(folder)
    col.add_text(KEMENKEU, id="kemenkeu", date="2025-10-20", url="https://contoh.id/kemenkeu")
    col.add_text(CABAI, id="cabai", date="2025-10-21")
    col.add_text(KRL, id="krl", date="2026-01-02", url="javascript:alert(1)")
    demo = collection_app.build(col)
    port = free_port()
    app.launch(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
        col.close()


def test_chat_api_names_the_article(served: str) -> None:
    from gradio_client import Client

    client = Client(served, verbose=False)
    reply = client.predict("Berapa pegawai Kemenkeu yang berkurang?", api_name="/chat")
    assert "979" in reply and "Artikel: Pegawai Kemenkeu Berkurang · 2025-10-20 · https://contoh.id/kemenkeu" in reply
    assert "Silakan" in client.predict("  ", api_name="/chat")


def test_browser_shows_the_answer_with_its_article(served: str, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        why = "browser test SKIPPED: Debian's chromium is not installed (`sudo apt-get install chromium`)"
        warnings.warn(why, stacklevel=1)
        pytest.skip(why)
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                    ignore_default_args=["--headless=new"], headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(served, wait_until="domcontentloaded", timeout=60_000)
        expect(page.locator("#active-title")).to_contain_text("3 artikel", timeout=30_000)
        chat = page.locator("#chatbot")

        def ask(question: str) -> None:
            box = page.locator("#question textarea")
            box.fill(question)
            page.locator("#send").click()
            expect(box).to_have_value("", timeout=60_000)
            expect(chat).not_to_contain_text(collection_app.SEARCHING, timeout=60_000)

        ask("Berapa harga cabai merah di Pekanbaru?")
        expect(chat).to_contain_text("Harga Cabai di Riau Naik", timeout=60_000)
        expect(chat).to_contain_text("2025-10-21")
        expect(page.locator("#article-view h3")).to_have_text("Harga Cabai di Riau Naik")
        expect(page.locator("#article-view mark.answer")).to_contain_text("80")
        ask("Berapa pegawai Kemenkeu yang berkurang?")
        expect(page.locator("#article-view mark.answer")).to_contain_text("979", timeout=60_000)
        link = chat.locator('a[href="https://contoh.id/kemenkeu"]')
        expect(link).to_have_count(1)
        expect(page.locator("#article-view .article-meta")).to_contain_text("2025-10-20")
        expect(page.locator('#article-view .article-meta a[href="https://contoh.id/kemenkeu"]')).to_have_count(1)
        ask("Kapan rute baru KRL mulai beroperasi?")  # its url is not http(s): no link is made of it
        expect(page.locator("#article-view h3")).to_have_text("Rute Baru KRL Dibuka", timeout=60_000)
        assert chat.locator('a[href^="javascript"]').count() == 0
        page.locator("#since input, #since textarea").first.fill("kemarin")
        ask("Berapa harga cabai merah di Pekanbaru?")
        expect(chat).to_contain_text(collection_app.BAD_DATE, timeout=60_000)
        page.locator("#since input, #since textarea").first.fill("2025-10-22")
        ask("Berapa pegawai Kemenkeu yang berkurang?")  # only the KRL article is that recent
        last = page.locator('#chatbot [data-testid="bot"]').last
        expect(last).to_contain_text(re.compile("Rute Baru KRL|tidak ditemukan"), timeout=60_000)
        expect(last).not_to_contain_text("979")
        page.screenshot(path=str(tmp_path / "collection.png"), full_page=True)
        browser.close()


def test_a_collection_that_cannot_be_opened_is_one_indonesian_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "app.py", "--collection", str(tmp_path / "tidak-ada"),
                           "--port", str(free_port())], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "bukan koleksi" in proc.stderr and "Traceback" not in proc.stderr
