"""The command line as a user meets it: follow-ups, the chat, news links, Indonesian messages, bad bytes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = """<!doctype html><html><head><title>Festival Kopi Lampung</title></head><body><nav>Beranda</nav><article>
<p>Festival Kopi Lampung digelar di Bandar Lampung pada Sabtu (14/3/2026).</p>
<p>Sebanyak 120 petani kopi dari 15 kabupaten ikut memamerkan hasil panen mereka.</p></article></body></html>"""


def cli(*args: str | bytes, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa", *args], cwd=ROOT, input=stdin, capture_output=True,
                          timeout=300)


def ok(out: subprocess.CompletedProcess) -> str:
    stderr = out.stderr.decode("utf-8", "replace")
    assert out.returncode == 0 and "Traceback" not in stderr, stderr[-2000:]
    return out.stdout.decode("utf-8")


def test_follow_up_with_context_answers_like_the_chat():
    alone = json.loads(ok(cli("ask", "Kapan itu terjadi?", "--json")))
    follow = json.loads(ok(cli("ask", "Kapan itu terjadi?", "--context", "Siapa yang menyerahkan penghargaan?",
                               "--json")))
    assert follow["text"] is not None and "2025" in follow["text"], (alone, follow)


def test_chat_session_with_follow_ups_and_quit():
    session = "Siapa yang menyerahkan penghargaan?\nKapan itu terjadi?\n\n:q\nPertanyaan ini tidak dibaca\n"
    out = ok(cli("chat", stdin=session.encode()))
    answers = [line for line in out.splitlines() if line.startswith("Jawaban:")]
    assert len(answers) == 2 and "2025" in answers[1], out
    assert "tidak dibaca" not in out and ":q untuk keluar" in out
    assert ok(cli("chat", stdin=b"")).count("Pertanyaan>") == 1  # end of input ends the session too


def test_messages_in_indonesian_and_score_explained():
    out = cli("index", "--article", "/tidak/ada.txt")
    stderr = out.stderr.decode()
    assert out.returncode == 2 and stderr.startswith("Kesalahan: ") and "tidak ditemukan" in stderr, stderr
    assert "Traceback" not in stderr and "error" not in stderr.lower()
    empty = cli("ask", "   ", "--json")
    assert empty.returncode == 2 and json.loads(empty.stdout)["error"].startswith("pertanyaan kosong")
    usage = cli("ask", "--top-k", "banyak")
    assert usage.returncode == 2 and "Kesalahan: " in usage.stderr.decode()
    helptext = ok(cli("ask", "--help"))
    assert "tidak ada jawaban" in helptext.lower() and "1 dikurangi" in helptext
    declined = ok(cli("ask", "Berapa jumlah penduduk Banten?"))
    assert declined.startswith("Tidak ada jawaban di artikel") and "Skor" not in declined


def test_invalid_utf8_in_arguments_and_stdin():
    out = ok(cli(b"ask", b"Siapa \xff menyerahkan penghargaan?", b"--json"))
    assert "\ufffd" not in json.loads(out)["text"]
    ok(cli(b"ask", b"Siapa \xff?"))
    ok(cli(b"retrieve", b"\xfe\xff penghargaan"))
    batch = cli("ask", "-", "--json", stdin=b"Siapa \xff\xfe?\n   \nSiapa Penjabat Gubernur Banten?\n")
    rows = [json.loads(line) for line in batch.stdout.decode().splitlines()]
    assert "Traceback" not in batch.stderr.decode() and len(rows) == 3, batch.stderr.decode()[-2000:]
    assert "error" in rows[1] and "Damenta" in (rows[2]["text"] or "")
    assert batch.returncode == 1  # one line was refused; the others were answered


def test_news_link(tmp_path):
    class Page(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            body = PAGE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/berita"
    try:
        answer = json.loads(ok(cli("ask", "Berapa petani kopi yang ikut?", "--url", url, "--allow-private",
                                   "--json")))
        assert answer["text"] == "120 petani kopi"  # a count answers with what the question counts
        refused = cli("ask", "Berapa petani kopi yang ikut?", "--url", url)
        assert refused.returncode == 2 and "alamat ditolak" in refused.stderr.decode()
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_closed_pipe_and_ctrl_c_end_quietly():
    import signal
    import time

    lines = b"Siapa Penjabat Gubernur Banten?\n" * 200
    proc = subprocess.Popen([sys.executable, "-m", "qa", "ask", "-", "--json"], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdin.write(lines)
    proc.stdin.close()
    assert proc.stdout.read(1) == b"{"
    proc.stdout.close()  # like `| head -c1`
    assert proc.wait(timeout=300) == 141
    assert b"Traceback" not in proc.stderr.read()

    # Ctrl-C as a shell gives it: a child inherits an ignored SIGINT, which a library of an earlier test can leave
    proc = subprocess.Popen([sys.executable, "-m", "qa", "ask", "-"], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    proc.stdin.write(lines)
    proc.stdin.flush()
    assert proc.stdout.readline()  # answering has started
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and b"Traceback" not in err, err[-1500:]
