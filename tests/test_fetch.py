"""News links: ``qa.fetch`` and ``ArticleQA.from_url`` against a local http.server on 127.0.0.1 (loopback only)."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from qa import ArticleError, FetchError, fetch

NEWS = """<!doctype html><html><head><title>Festival Kopi Lampung 2026</title></head><body>
<nav>Beranda | Politik | Olahraga</nav>
<article><h1>Festival Kopi Lampung 2026</h1>
<p>Festival Kopi Lampung digelar di Bandar Lampung pada Sabtu (14/3/2026). Acara itu dibuka oleh Gubernur
Lampung Rahmat Mirzani Djausal di halaman kantor gubernur.</p>
<p>Sebanyak 120 petani kopi dari 15 kabupaten ikut memamerkan hasil panen mereka. Panitia mencatat lebih dari
8.000 pengunjung datang ke festival tersebut selama dua hari.</p>
<p>Ketua panitia, Siti Rahmawati, mengatakan festival berikutnya akan diadakan di Kabupaten Tanggamus.</p>
</article><footer>Hak cipta 2026</footer></body></html>"""


class Handler(BaseHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass

    def _send(self, status: int, body: bytes, kind: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None, length: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        Handler.requests.append(self.path)
        port = self.server.server_address[1]
        routes = {
            "/news": lambda: self._send(200, NEWS.encode()),
            "/latin1": lambda: self._send(200, NEWS.replace("Siti", "Siti Ã©").encode("latin-1"),
                                          "text/html; charset=iso-8859-1"),
            "/pdf": lambda: self._send(200, b"%PDF-1.7 ...", "application/pdf"),
            "/empty": lambda: self._send(200, b"<html><body><nav>Beranda</nav></body></html>"),
            "/missing": lambda: self._send(404, b"<html><body>not found</body></html>"),
            "/to-news": lambda: self._send(302, b"", headers={"Location": "/news"}),
            "/to-metadata": lambda: self._send(302, b"", headers={"Location": "http://169.254.169.254/latest/"}),
            "/to-intranet": lambda: self._send(301, b"", headers={"Location": "http://10.1.2.3/admin"}),
            "/to-loopback6": lambda: self._send(307, b"", headers={"Location": f"http://[::1]:{port}/news"}),
            "/loop": lambda: self._send(302, b"", headers={"Location": "/loop"}),
            "/huge": lambda: self._send(200, b"<html><body>" + b"a" * (fetch.MAX_PAGE_BYTES + 1)),
        }
        if self.path == "/endless":  # no Content-Length: the cap must stop the download itself
            self._send(200, b"", length=False)
            for _ in range(1000):
                self.wfile.write(b"<p>" + b"kopi " * 2000 + b"</p>\n")
            return
        routes.get(self.path, routes["/missing"])()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture()
def public_loopback(monkeypatch) -> None:
    """Treat 127.0.0.1 as a public server, so redirects from it to private addresses can be tested."""
    real = fetch._refused
    here = ipaddress.ip_address("127.0.0.1")
    monkeypatch.setattr(fetch, "_refused", lambda ip: ip != here and real(ip))


def reason(call) -> str:
    with pytest.raises(FetchError) as info:
        call()
    assert isinstance(info.value, ArticleError) and str(info.value)
    return info.value.reason


def test_fetches_main_text_and_title(server):
    title, text = fetch.fetch_article(f"{server}/news", allow_private=True)
    assert title == "Festival Kopi Lampung 2026"
    assert "120 petani kopi" in text and "Beranda" not in text and "Hak cipta" not in text


def test_follows_a_redirect_and_decodes_the_declared_charset(server):
    assert "Siti Rahmawati" in fetch.fetch_article(f"{server}/to-news", allow_private=True)[1]
    assert "Siti Ã©" in fetch.fetch_article(f"{server}/latin1", allow_private=True)[1]


def test_private_addresses_are_refused_by_default_before_any_request(server):
    Handler.requests.clear()
    assert reason(lambda: fetch.fetch_article(f"{server}/news")) == "refused"
    assert reason(lambda: fetch.fetch_article("http://localhost/news")) == "refused"
    assert Handler.requests == []


@pytest.mark.parametrize("path", ["/to-metadata", "/to-intranet", "/to-loopback6"])
def test_redirect_to_a_private_address_is_refused(server, public_loopback, path):
    assert "Festival" in fetch.fetch_article(f"{server}/news")[1]  # the "public" server itself is fine
    assert reason(lambda: fetch.fetch_article(f"{server}{path}", timeout=5)) == "refused"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "javascript:alert(1)", "berita.html",
                                 "http://", "http://127.0.0.1:99999/"])
def test_only_http_and_https_urls(url):
    assert reason(lambda: fetch.fetch_article(url, allow_private=True)) == "bad_url"


def test_page_over_the_cap(server):
    assert reason(lambda: fetch.fetch_article(f"{server}/huge", allow_private=True)) == "too_large"
    assert reason(lambda: fetch.fetch_article(f"{server}/endless", allow_private=True,
                                              max_bytes=100_000)) == "too_large"


def test_clear_reasons_for_each_failure(server):
    def get(path: str) -> str:
        return reason(lambda: fetch.fetch_article(f"{server}{path}", allow_private=True, timeout=5))

    assert get("/pdf") == "not_html"
    assert get("/empty") == "no_text"
    assert get("/missing") == "unreachable"
    assert get("/loop") == "redirects"
    closed = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = closed.server_address[1]
    closed.server_close()
    assert reason(lambda: fetch.fetch_article(f"http://127.0.0.1:{port}/", allow_private=True)) == "unreachable"
    assert reason(lambda: fetch.fetch_article("http://no-such-host.invalid/")) == "unreachable"


@pytest.mark.slow
def test_articleqa_from_url(server):
    from qa import ArticleQA

    qa = ArticleQA.from_url(f"{server}/news", allow_private=True)
    assert qa.title == "Festival Kopi Lampung 2026"
    assert qa.ask("Di kota mana festival kopi digelar?").text == "Bandar Lampung"
    with pytest.raises(FetchError):
        ArticleQA.from_url(f"{server}/news")


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_https_verifies_the_certificate_against_the_host_name(tmp_path, monkeypatch):
    """The connection goes to the checked address, but TLS still checks the name the user gave."""
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{httpd.server_address[1]}/news"
    try:
        assert reason(lambda: fetch.fetch_article(url, allow_private=True, timeout=5)) == "unreachable"  # untrusted
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # now trusted: the same page is fetched
        assert fetch.fetch_article(url, allow_private=True, timeout=5)[0] == "Festival Kopi Lampung 2026"
    finally:
        httpd.shutdown()
        httpd.server_close()


class Dripping(BaseHTTPRequestHandler):
    """One byte a second: in the status line and headers (/headers) or in the body (/body)."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        import time

        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
        data = head + b"<p>" + b"kopi " * 20000 if self.path == "/body" else head
        start = 0 if self.path == "/headers" else len(head)
        try:
            self.wfile.write(data[:start])
            self.wfile.flush()
            for i in range(start, min(len(data), start + 30)):  # 30 s at most, then the server gives up
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
                time.sleep(1)
        except OSError:
            pass  # the client hung up, as it should


@pytest.mark.parametrize("path", ["/headers", "/body"])
def test_overall_deadline_holds_against_a_dripping_server(path):
    import time

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Dripping)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        t0 = time.monotonic()
        url = f"http://127.0.0.1:{httpd.server_address[1]}{path}"
        with pytest.raises(FetchError) as info:
            fetch.fetch_article(url, allow_private=True, timeout=2)
        assert info.value.reason == "unreachable" and "too slow" in str(info.value)
        assert time.monotonic() - t0 < 4  # the 2 s deadline, not the server's 30 s
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1]:99999/", "http://[zz::1]/", "http://a b/"])
def test_malformed_addresses_are_bad_urls(url):
    assert reason(lambda: fetch.fetch_article(url)) in ("bad_url", "unreachable")
    assert reason(lambda: fetch.fetch_article("http://[::1")) == "bad_url"


def test_internationalised_host_names_are_sent_in_idna():
    assert fetch._host_header("пример.test:8080") == "xn--e1afmkfd.test:8080"
    assert fetch._host_header("user@пример.test") == "xn--e1afmkfd.test"
    assert fetch._host_header("[::1]:80") == "[::1]:80"
    assert reason(lambda: fetch.fetch_article("http://пример.test/", timeout=5)) in ("unreachable", "bad_url")


@pytest.mark.parametrize("address", ["::7f00:1", "::ffff:0:7f00:1", "64:ff9b::7f00:1", "64:ff9b::a00:1",
                                     "2002:7f00:1::", "2002:c0a8:101::", "fec0::1", "::ffff:10.0.0.1",
                                     "64:ff9b:1::8.8.8.8"])
def test_ipv6_forms_of_non_public_addresses_are_refused(address):
    assert fetch._refused(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::", "2001:4860:4860::8888"])
def test_public_addresses_in_ipv6_forms_are_allowed(address):
    assert not fetch._refused(ipaddress.ip_address(address))


@pytest.mark.parametrize("page", [
    "<html><body><ul><li><a href='/a'>Beranda</a></li><li><a href='/b'>Politik</a></li>"
    "<li><a href='/c'>Ekonomi dan bisnis</a></li><li><a href='/d'>Olahraga dan hiburan</a></li></ul></body></html>",
    "<html><body><div class='menu top'><a href='/a'>Beranda</a> <a href='/b'>Politik</a> "
    "<a href='/c'>Ekonomi nasional</a></div></body></html>",
    "<!DOCTYPE HTML><html><head><title>Directory listing for /</title></head><body><h1>Directory listing for /</h1>"
    "<hr><ul><li><a href='berita.html'>berita.html</a></li><li><a href='foto/'>foto/</a></li></ul><hr></body></html>",
])
def test_pages_of_links_are_not_articles(page):
    from qa.text import html_to_text

    with pytest.raises(ArticleError) as err:
        html_to_text(page)
    assert err.value.reason == "no_text"


def test_a_directory_listing_link_is_refused(tmp_path):
    import functools

    (tmp_path / "berita.html").write_text(NEWS, encoding="utf-8")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/"
        assert reason(lambda: fetch.fetch_article(url, allow_private=True)) == "no_text"
        assert "120 petani kopi" in fetch.fetch_article(url + "berita.html", allow_private=True)[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
