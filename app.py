"""Tanya Artikel: a Gradio chat that answers Indonesian questions about a news article.

    python app.py                      # http://127.0.0.1:7860, the bundled article
    python app.py --port 8000
    python app.py --host 0.0.0.0 --expose   # reachable from other machines: read the README first

A thin layer over the public ``qa`` API. Every browser session holds only the key of its article;
indexed articles live in a small process-wide cache, so one user's upload never changes another's.
"""

from __future__ import annotations

import argparse
import html
import ipaddress
import logging
import os
import re
import sys
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
UPLOAD_TYPES = (".txt", ".md", ".html", ".htm")
DECLINE = "Maaf, jawabannya tidak ada di artikel."
EMPTY_PROMPT = "Silakan ketik pertanyaan tentang artikel terlebih dahulu."
EXAMPLES = [
    "Siapa yang menyerahkan penghargaan?",
    "Kapan penghargaan diserahkan?",
    "Di mana penghargaan diserahkan?",
    "Berapa kategori penghargaan yang ada?",
    "Daerah mana yang meraih penghargaan Unit Kerja berbasis HAM?",
]
ARTICLE_ERRORS = {
    "missing": "Berkas artikel tidak ditemukan.",
    "empty": "Artikel kosong: tidak ada teks yang bisa dibaca.",
    "binary": "Berkas ini bukan teks (berisi data biner).",
    "pdf": "Berkas ini PDF, bukan teks. Salin isinya ke berkas .txt lalu unggah lagi.",
    "encoding": "Berkas bukan teks UTF-8. Simpan ulang sebagai UTF-8 lalu unggah lagi.",
    "no_text": "Tidak ditemukan teks utama di halaman HTML ini.",
    "too_large": "Berkas terlalu besar.",
}

UNEXPECTED = "Maaf, terjadi kesalahan tak terduga. Silakan coba lagi."
DEFAULT_KEY = "default"
CSS = """
.article-text { white-space: pre-wrap; line-height: 1.55; max-height: 560px; overflow-y: auto; }
mark.answer, .message mark { background: #ffe066; padding: 0 2px; border-radius: 3px; }
"""
log = logging.getLogger("tanya-artikel")


def confidence_label(score: float) -> str:
    if score >= 0.7:
        return "yakin"
    if score >= 0.4:
        return "cukup yakin"
    return "kurang yakin"


def escape(text: str) -> str:
    """Untrusted text shown as text: HTML escaped, and Markdown markup neutralised."""
    return re.sub(r"([\\`*_\[\]#~|])", r"\\\1", html.escape(text))


class Articles:
    """Indexed articles by key (the article's SHA-256); sessions store only keys."""

    def __init__(self, limit: int = 16) -> None:
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.limit = limit

    def put(self, qa: Any, key: str | None = None) -> str:
        key = key or qa.sha256
        with self._lock:
            self._items[key] = qa
            self._items.move_to_end(key)
            while len(self._items) > self.limit:
                oldest = next(iter(self._items))
                if oldest == DEFAULT_KEY:
                    self._items.move_to_end(oldest)
                    oldest = next(iter(self._items))
                self._items.pop(oldest)
        return key

    def get(self, key: str | None) -> Any:
        with self._lock:
            qa = self._items.get(key or DEFAULT_KEY)
            return qa if qa is not None else self._items[DEFAULT_KEY]


def article_html(qa: Any, span: tuple[int, int] | None = None) -> str:
    text = qa.article
    title = f"<h3>{html.escape(qa.title)}</h3>" if qa.title else ""
    if span and 0 <= span[0] < span[1] <= len(text):
        a, b = span
        body = (html.escape(text[:a]) + '<mark class="answer">' + html.escape(text[a:b]) + "</mark>"
                + html.escape(text[b:]))
    else:
        body = html.escape(text)
    return f'<div class="article" id="article-view">{title}<div class="article-text">{body}</div></div>'


def answer_messages(qa: Any, answer: Any) -> list[dict[str, Any]]:
    """Chat messages for one answer: the answer, then its source in a collapsible section."""
    if answer.text is None:
        out: list[dict[str, Any]] = [{"role": "assistant", "content": DECLINE}]
        if answer.passage is not None:
            out.append({"role": "assistant", "content": escape(answer.passage.text),
                        "metadata": {"title": "Bagian artikel yang paling dekat"}})
        return out
    s, e = qa.sentence_at(answer.start, answer.end)
    source = (escape(qa.article[s:answer.start]) + "<mark>" + escape(answer.text) + "</mark>"
              + escape(qa.article[answer.end:e]))
    pct = round(100 * answer.score)
    return [
        {"role": "assistant", "content": f"**{escape(answer.text)}**\n\nKeyakinan: {confidence_label(answer.score)} "
                                         f"({pct}%)"},
        {"role": "assistant", "content": source, "metadata": {"title": "Sumber"}},
    ]


def build(articles: Articles) -> Any:
    import gradio as gr

    from qa import ArticleError, ArticleQA, QAError
    from qa.conversation import contextual_query

    def ask(key: str | None, question: str, last: dict) -> tuple[Any, Any, dict]:
        qa = articles.get(key)
        context = contextual_query(question, last.get("question"), last.get("answer"))
        answer = qa.ask(question, context=context)
        return qa, answer, {"question": f"{context} {question}" if context else question, "answer": answer.text}

    def respond(message: str, history: list, key: str, last: dict):
        history = list(history or [])
        message = message or ""
        if not message.strip():
            return "", history + [{"role": "assistant", "content": EMPTY_PROMPT}], gr.skip(), last
        history.append({"role": "user", "content": escape(message[:2000])})
        try:
            qa, answer, last = ask(key, message, last or {})
        except QAError:
            history.append({"role": "assistant", "content": "Pertanyaan tidak dapat diproses. Coba tulis ulang."})
            return "", history, gr.skip(), last
        except Exception:  # noqa: BLE001 - a bug must not end the conversation; it is logged in full
            log.exception("answering %r failed", message[:200])
            return "", history + [{"role": "assistant", "content": UNEXPECTED}], gr.skip(), last
        span = (answer.start, answer.end) if answer.text else None
        return "", history + answer_messages(qa, answer), article_html(qa, span), last

    def chat(message: str, previous_question: str = "") -> str:
        """Answer a question about the bundled article; `previous_question` helps follow-ups."""
        if not (message or "").strip():
            return EMPTY_PROMPT
        try:
            qa, answer, _ = ask(DEFAULT_KEY, message, {"question": previous_question or None})
        except QAError:
            return "Pertanyaan tidak dapat diproses. Coba tulis ulang."
        except Exception:  # noqa: BLE001
            log.exception("answering %r failed", message[:200])
            return UNEXPECTED
        if answer.text is None:
            return DECLINE
        return f"{answer.text}\n\nKeyakinan: {confidence_label(answer.score)} ({round(100 * answer.score)}%)"

    def load_article(qa_factory, key: str, progress: gr.Progress):
        def report(fraction: float, desc: str) -> None:
            progress(fraction, desc=desc)

        try:
            progress(0.0, desc="Membaca artikel")
            qa = qa_factory(report)
        except ArticleError as exc:
            return key, f"⚠️ {ARTICLE_ERRORS.get(exc.reason, 'Artikel tidak dapat dibaca.')}", gr.skip(), gr.skip()
        except QAError:
            return key, "⚠️ Artikel tidak dapat dibaca.", gr.skip(), gr.skip()
        except Exception:  # noqa: BLE001
            log.exception("loading an article failed")
            return key, f"⚠️ {UNEXPECTED}", gr.skip(), gr.skip()
        new_key = articles.put(qa)
        label = f"“{html.escape(qa.title)}”" if qa.title else "artikel baru"
        return (new_key, f"✅ Memuat {label}: {len(qa.passages)} bagian terindeks. Silakan bertanya.",
                article_html(qa), [])

    def upload(file: str | None, key: str, progress=gr.Progress()):
        if not file:
            return key, "Pilih berkas terlebih dahulu.", gr.skip(), gr.skip()
        path = Path(file)
        try:
            if path.suffix.lower() not in UPLOAD_TYPES:
                return key, "⚠️ Jenis berkas tidak didukung. Gunakan .txt, .md, atau .html.", gr.skip(), gr.skip()
            if path.stat().st_size > MAX_UPLOAD_BYTES:
                return key, "⚠️ Berkas terlalu besar (maksimal 5 MB).", gr.skip(), gr.skip()
            return load_article(lambda cb: ArticleQA.from_file(path, progress=cb), key, progress)
        finally:
            path.unlink(missing_ok=True)  # the upload is indexed (or refused); keep no copy

    def paste(text: str, title: str, key: str, progress=gr.Progress()):
        if len((text or "").encode("utf-8")) > MAX_UPLOAD_BYTES:
            return key, "⚠️ Teks terlalu panjang (maksimal 5 MB).", gr.skip(), gr.skip()
        return load_article(lambda cb: ArticleQA.from_text(text or "", title=(title or "").strip() or None,
                                                           progress=cb), key, progress)

    def reset():
        return DEFAULT_KEY, "Kembali ke artikel bawaan.", article_html(articles.get(DEFAULT_KEY)), [], {}

    with gr.Blocks(title="Tanya Artikel") as demo:
        gr.Markdown("# Tanya Artikel\nTanyakan apa saja tentang artikel berita di samping. Jawaban diambil "
                    "langsung dari teks artikel; bila artikel tidak memuat jawabannya, kami akan bilang.")
        key = gr.State(DEFAULT_KEY)
        last = gr.State({})
        with gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(label="Percakapan", height=460, elem_id="chatbot", sanitize_html=True)
                question = gr.Textbox(label="Pertanyaan", elem_id="question", lines=1, max_lines=4,
                                      placeholder="Ketik pertanyaan, mis. Kapan penghargaan diserahkan?")
                with gr.Row():
                    send = gr.Button("Kirim", variant="primary", elem_id="send")
                    clear = gr.Button("Hapus percakapan", elem_id="clear")
                gr.Examples(EXAMPLES, inputs=question, label="Contoh pertanyaan (klik untuk memakai)")
            with gr.Column(scale=2):
                view = gr.HTML(article_html(articles.get(DEFAULT_KEY)), elem_id="article")
                with gr.Accordion("Ganti artikel", open=False, elem_id="change-article"):
                    file = gr.File(label="Unggah .txt, .md, atau .html (maks. 5 MB)", file_types=list(UPLOAD_TYPES),
                                   type="filepath", elem_id="upload")
                    pasted_title = gr.Textbox(label="Judul (opsional)", elem_id="paste-title")
                    pasted = gr.Textbox(label="Atau tempel teks artikel", lines=6, elem_id="paste")
                    use_paste = gr.Button("Gunakan teks ini", elem_id="use-paste")
                    reset_btn = gr.Button("Kembali ke artikel bawaan", elem_id="reset")
                status = gr.Markdown("", elem_id="status")

        gr.on([question.submit, send.click], respond, [question, chatbot, key, last], [question, chatbot, view, last],
              api_visibility="private", concurrency_limit=2, concurrency_id="qa")
        clear.click(lambda: ([], {}), outputs=[chatbot, last], api_visibility="private")
        file.upload(upload, [file, key], [key, status, view, chatbot], api_visibility="private",
                    concurrency_limit=1, concurrency_id="index")
        use_paste.click(paste, [pasted, pasted_title, key], [key, status, view, chatbot], api_visibility="private",
                        concurrency_limit=1, concurrency_id="index")
        reset_btn.click(reset, outputs=[key, status, view, chatbot, last], api_visibility="private")
        gr.api(chat, api_name="chat", concurrency_limit=2, concurrency_id="qa")
    demo.queue(max_size=64, default_concurrency_limit=2)
    return demo


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Tanya Artikel: chat about a news article (Gradio).")
    ap.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                    help="address to bind (default 127.0.0.1, or $GRADIO_SERVER_NAME)")
    ap.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                    help="port (default 7860, or $GRADIO_SERVER_PORT)")
    ap.add_argument("--expose", action="store_true",
                    help="allow a non-loopback --host: anyone who can reach it can use the app")
    ap.add_argument("--article", help="start with this article (.txt, .md, .html) instead of the bundled one")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("tanya-artikel", "qa"):  # our own progress and rebuild messages, not every HTTP request
        logging.getLogger(name).setLevel(logging.INFO)
    if not is_loopback(args.host) and not args.expose:
        print(f"error: --host {args.host} would expose the app beyond this machine; add --expose if you mean it",
              file=sys.stderr)
        return 2
    # Uploads land in a private directory of ours, not a shared /tmp folder.
    os.environ.setdefault("GRADIO_TEMP_DIR", tempfile.mkdtemp(prefix="tanya-artikel-uploads-"))
    from qa import ArticleQA, QAError

    try:
        qa = ArticleQA.from_file(args.article) if args.article else ArticleQA.default()
        qa.reader  # load the reader now, so the first question is fast  # noqa: B018
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    articles = Articles()
    articles.put(qa, DEFAULT_KEY)
    demo = build(articles)
    demo.launch(server_name=args.host, server_port=args.port, max_file_size=MAX_UPLOAD_BYTES, show_error=False,
                css=CSS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
