"""Tanya Artikel: a Gradio chat that answers Indonesian questions about a news article.

    python app.py                      # http://127.0.0.1:7860, the bundled article
    python app.py --port 8000
    python app.py --host 0.0.0.0 --expose   # reachable from other machines: read the README first
    python app.py --collection koleksi/      # ask across a collection (collection_app.py)

A thin layer over the public ``qa`` API. Every browser session holds its own article (its key and
its text); indexed articles live in a small, bounded process-wide cache, so one user's upload never
changes another's, and an article evicted from the cache is indexed again from the session's text.
Only ``/chat`` is callable through the HTTP API; the page's own events (paste, upload, reset) run
through the queue with their concurrency limits.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import html
import ipaddress
import logging
import os
import queue
import re
import signal
import socket
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from guards import (
    MAX_UPLOAD_BYTES,
    OnlyPublicApi,
    UploadLimits,
    UploadOwners,
    client_id,
    private_upload_dir,
    remove_upload,
    sweep_forever,
    upload_root,
)
from qa.settings import Settings
from qa.types import CONFIDENT

UPLOAD_TYPES = (".txt", ".md", ".html", ".htm")
DECLINE = "Maaf, jawabannya tidak ada di artikel."
EMPTY_PROMPT = "Silakan ketik pertanyaan tentang artikel terlebih dahulu."
#: The bundled article has no headline line; this names it above the chat.
DEFAULT_TITLE = "Penghargaan HAM untuk seluruh kabupaten/kota di Banten (Januari 2025)"
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
    "too_large": "Artikel terlalu besar.",
    "bad_url": "Alamat tidak valid. Gunakan tautan yang diawali http:// atau https://.",
    "unreachable": "Halaman tidak dapat dibuka. Periksa tautannya atau coba lagi nanti.",
    "not_html": "Tautan ini bukan halaman web (HTML).",
    "refused": "Alamat ini menunjuk ke jaringan lokal atau privat dan tidak diizinkan.",
    "redirects": "Terlalu banyak pengalihan dari tautan ini.",
}
UNEXPECTED = "Maaf, terjadi kesalahan tak terduga. Silakan coba lagi."
SEARCHING = "Mencari jawaban di artikel…"
UNREADABLE_QUESTION = "Pertanyaan tidak dapat diproses. Coba tulis ulang."
#: Questions are refused above this length before any work is done on them.
MAX_QUESTION_CHARS = Settings.max_question_chars
TOO_LONG_QUESTION = f"Pertanyaan terlalu panjang (paling banyak {MAX_QUESTION_CHARS} karakter). Ringkaslah."
DEFAULT_KEY = "default"
CSS = """
#intro h1 { margin-bottom: 0.2em; }
#intro p { margin-top: 0; }
#active-title .active-title { font-size: 0.95em; color: #444; margin: 0 0 0.3em 0; }
.article-text { white-space: pre-wrap; line-height: 1.55; max-height: 560px; overflow-y: auto; position: relative;
  scrollbar-gutter: stable; scrollbar-width: thin; scrollbar-color: #999 #eee; }  /* always a visible scrollbar */
.article-text::-webkit-scrollbar { width: 8px; background: #eee; }
.article-text::-webkit-scrollbar-thumb { background: #999; border-radius: 4px; }
.article-meta { color: #555; font-size: 0.9em; margin: -0.4em 0 0.6em 0; }
mark.answer, .message mark { background: #ffe066; padding: 0 2px; border-radius: 3px; }
mark.answer.tentative { background: #ffe9b3; outline: 1px dashed #b38600; }
#status .error, #load-status .error { color: #b42318; }
#chatbot .placeholder-content { padding-top: 1.5em; }
#status progress, #load-status progress { width: 10em; vertical-align: middle; margin-right: 0.5em; }
@media (max-width: 900px) {  /* where the two columns no longer fit side by side */
  #layout { flex-direction: column; }
  #article-column { order: -1; }
  .article-text { max-height: 30vh; }
  #intro h1 { font-size: 1.4em; }
}
"""
#: Chat messages are rendered from Markdown; the chatbot's screen-reader label holds the raw
#: message. Label each message with its rendered text instead, in Indonesian.
HEAD = """<script>
(() => {
  const relabel = () => document.querySelectorAll('#chatbot [aria-label][data-testid]').forEach((el) => {
    const role = el.getAttribute('data-testid');
    if (role !== 'user' && role !== 'bot') return;
    const label = (role === 'user' ? 'Pertanyaan Anda: ' : 'Jawaban: ') + el.textContent.trim();
    if (el.getAttribute('aria-label') !== label) el.setAttribute('aria-label', label);
  });
  // the file picker offers the accepted types; a file forced through still gets the app's own message
  const accept = () => document.querySelectorAll('#change-article input[type=file]').forEach((el) => {
    if (el.getAttribute('accept') !== '%s') el.setAttribute('accept', '%s');
  });
  const update = () => { relabel(); accept(); };
  new MutationObserver(update).observe(document.documentElement,
    {subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['aria-label']});
  update();
})();
</script>""".replace("%s", ",".join(UPLOAD_TYPES))
#: After an answer: scroll the article panel (not the page) so the highlighted span is in view, and
#: the chat to its newest message (a chat that grows to its maximum height scrolls as a whole, and
#: gradio's own autoscroll does not follow it).
SCROLL_TO_ANSWER = """() => { setTimeout(() => {
  const mark = document.querySelector('#article-view mark.answer');
  const box = mark && mark.closest('.article-text');
  if (box) box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
  const chat = document.querySelector('#chatbot');
  if (chat) chat.scrollTop = chat.scrollHeight;
}, 100); }"""
#: After another article is loaded: back to the top of the page, and of the article panel, unless the
#: load failed (then the message stays where the user is looking).
SCROLL_TO_TOP = """() => { setTimeout(() => {
  if (document.querySelector('#status .error')) return;
  window.scrollTo({top: 0});
  const box = document.querySelector('#article-view .article-text');
  if (box) box.scrollTop = 0;
}, 100); }"""
log = logging.getLogger("tanya-artikel")


def confidence_label(score: float) -> str:
    if score >= CONFIDENT:
        return "yakin"
    if score >= 0.4:
        return "cukup yakin"
    return "kurang yakin"


def escape(text: str) -> str:
    """Untrusted text shown as text in Markdown: markup neutralised first, then HTML escaped.

    Inline markup (``* _ ` [ ] # ~ | $ \\``), the colon of ``scheme://`` and the dot of ``www.`` (no autolinks),
    and line-start block markers (``-``, ``+``, ``=``, ``1.``, ``1)``: lists, rules and headings) are
    backslash-escaped. In that order the backslashes never land inside an entity (``&\\#x27;``
    showed as text), and quotes need no entity at all in element text.
    """
    text = re.sub(r"([\\`*_\[\]#~|$])", r"\\\1", text)
    text = re.sub(r"(?i)\b(https?|ftp|mailto)(:)", r"\1\\\2", text)
    text = re.sub(r"(?i)\b(www)(\.)", r"\1\\\2", text)
    text = re.sub(r"(?m)^(\s*)([-+=])", r"\1\\\2", text)
    text = re.sub(r"(?m)^(\s*\d+)([.)])", r"\1\\\2", text)
    return html.escape(text, quote=False)


def first_line_title(text: str) -> str | None:
    """A plain-text article's title: its first ``#`` heading, else its first non-empty line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    heading = next((line for line in lines if re.match(r"#{1,6}\s", line)), None)
    line = (heading or (lines[0] if lines else "")).lstrip("#").strip()
    if not line:
        return None
    return line if len(line) <= 120 else line[:120].rsplit(" ", 1)[0] + "…"


class Articles:
    """Indexed articles by key (the article's SHA-256), least recently used evicted first.

    Bounded in count and in passages, so the app's memory stays flat however many articles its users
    load; a session keeps its article's text and indexes it again on demand after an eviction.
    """

    def __init__(self, limit: int = 8, max_passages: int = 20_000) -> None:
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.limit, self.max_passages = limit, max_passages

    def put(self, qa: Any, key: str | None = None) -> str:
        key = key or qa.sha256
        with self._lock:
            self._items[key] = qa
            self._items.move_to_end(key)
            while len(self._items) > self.limit or self._passages() > self.max_passages:
                oldest = next((k for k in self._items if k not in (DEFAULT_KEY, key)), None)
                if oldest is None:  # only the bundled and the newest article left: both stay
                    break
                self._items.pop(oldest)
        return key

    def _passages(self) -> int:
        return sum(len(qa.passages) for qa in self._items.values())

    def get(self, key: str | None) -> Any:
        """The indexed article, or None when it is not (or no longer) in the cache."""
        with self._lock:
            qa = self._items.get(key or DEFAULT_KEY)
            if qa is not None:
                self._items.move_to_end(key or DEFAULT_KEY)
            return qa

    def __len__(self) -> int:
        return len(self._items)


def session_title(doc: dict | None) -> str | None:
    """The title the session gave its article (the bundled article's own name for it)."""
    doc = doc if isinstance(doc, dict) else {}
    if isinstance(doc.get("title"), str):
        return doc["title"]
    return DEFAULT_TITLE if (doc.get("key") or DEFAULT_KEY) == DEFAULT_KEY else None


def session_article(articles: Articles, doc: dict | None) -> Any:
    """The session's article; indexed again from the session's own text if the cache dropped it.

    Never another session's article: the key is the article's hash and the text travels with it.
    """
    from qa import ArticleQA

    doc = doc if isinstance(doc, dict) else {}
    key = doc.get("key") or DEFAULT_KEY
    qa = articles.get(key)
    if qa is None and isinstance(doc.get("text"), str):
        log.info("article %s left the cache; indexing it again for its session", str(key)[:12])
        qa = ArticleQA.from_text(doc["text"], title=doc.get("title"))
        articles.put(qa)
    return qa if qa is not None else articles.get(DEFAULT_KEY)


def release_memory() -> None:
    """Hand freed heap pages back to the system after indexing (glibc keeps them otherwise)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def article_html(qa: Any, span: tuple[int, int] | None = None, tentative: bool = False,
                 title: str | None = None, meta_html: str = "") -> str:
    """The article with the answer marked, under its title as a heading.

    ``title`` is the session's own (the cached article may be shared by sessions that gave the same
    text other titles). A first line that is the title (a ``# Judul`` heading or the headline) is shown
    as the heading, not repeated as text, unless the answer is in it.
    """
    text = qa.article
    heading = title if title is not None else qa.title
    first = re.match(r"\s*(#{1,6}\s+)?([^\n]*)\n\s*", text)
    skip = 0
    if first and (not span or span[0] >= first.end()):
        line = first.group(2).strip()
        if first.group(1) or (heading and (line == heading or line.startswith(heading.rstrip("…")))):
            heading, skip = heading or line, first.end()
    title_part = (f"<h3>{html.escape(heading)}</h3>" if heading else "") + meta_html  # meta_html: escaped by the caller
    body = text[skip:]
    if span and skip <= span[0] < span[1] <= len(text):
        a, b = span[0] - skip, span[1] - skip
        cls = "answer tentative" if tentative else "answer"
        shown = (html.escape(body[:a]) + f'<mark class="{cls}">' + html.escape(body[a:b]) + "</mark>"
                 + html.escape(body[b:]))
    else:
        shown = html.escape(body)
    return f'<div class="article" id="article-view">{title_part}<div class="article-text">{shown}</div></div>'


def title_html(title: str) -> str:
    """The active article's title above the chat (always text)."""
    return f'<div class="active-title">Artikel: <strong>{html.escape(title)}</strong></div>'


def status_html(message: str, kind: str = "info") -> str:
    """The status line under the chat; always text (titles are never rendered as Markdown or HTML)."""
    if not message:
        return ""
    return f'<div class="{kind}" role="status">{html.escape(message)}</div>'


def progress_html(fraction: float, desc: str) -> str:
    pct = max(0, min(100, round(100 * fraction)))
    return (f'<div class="progress" role="status"><progress max="100" value="{pct}"></progress>'
            f"{html.escape(desc)} ({pct}%)</div>")


def highlighted_source(text: str, sentence: tuple[int, int], span: Any) -> str:
    """The sentence ``text[sentence[0]:sentence[1]]`` with the answer ``span`` marked (always text)."""
    s, e = sentence
    return escape(text[s : span.start]) + "<mark>" + escape(span.text) + "</mark>" + escape(text[span.end : e])


def answer_messages(qa: Any, answer: Any) -> list[dict[str, Any]]:
    """Chat messages for one answer: the answer, then its source in a collapsible section."""

    def source(span: Any) -> str:
        return highlighted_source(qa.article, qa.sentence_at(span.start, span.end), span)

    if answer.text is None:
        guess = answer.tentative
        if guess is not None:
            return [
                {"role": "assistant", "content": f"Mungkin: **{escape(guess.text)}**, kurang yakin "
                                                 f"({round(100 * guess.score)}%)"},
                {"role": "assistant", "content": source(guess),
                 "metadata": {"title": "Bagian artikel yang paling dekat"}},
            ]
        out: list[dict[str, Any]] = [{"role": "assistant", "content": DECLINE}]
        if answer.passage is not None:
            out.append({"role": "assistant", "content": escape(answer.passage.text),
                        "metadata": {"title": "Bagian artikel yang paling dekat"}})
        return out
    pct = round(100 * answer.score)
    return [
        {"role": "assistant", "content": f"**{escape(answer.text)}**\n\nKeyakinan: {confidence_label(answer.score)} "
                                         f"({pct}%)"},
        {"role": "assistant", "content": source(answer), "metadata": {"title": "Sumber"}},
    ]


def build(articles: Articles, allow_private_urls: bool = False) -> Any:
    """The page and its events; ``launch`` serves it with the middleware that shares its upload owners."""
    import gradio as gr

    owners = UploadOwners()

    from qa import ArticleError, ArticleQA, QAError
    from qa.conversation import contextual_query
    from qa.fetch import fetch_article
    from qa.text import read_article

    def ask(qa: Any, question: str, last: dict) -> tuple[Any, dict]:
        context = contextual_query(question, last.get("question"), last.get("answer"))
        answer = qa.ask(question, context=context)
        return answer, {"question": f"{context} {question}" if context else question, "answer": answer.text}

    def show_question(message: Any, history: list) -> tuple:
        """The question shows at once, with a note that the answer is coming (no English "processing")."""
        if not isinstance(message, str) or not message.strip():
            return gr.skip(), gr.skip(), ""
        if len(message) > MAX_QUESTION_CHARS:  # refused at once, and the box keeps it for shortening
            return gr.skip(), list(history or []) + [{"role": "assistant", "content": TOO_LONG_QUESTION}], None
        waiting = [{"role": "user", "content": escape(message)}, {"role": "assistant", "content": SEARCHING}]
        return "", list(history or []) + waiting, message

    def respond(message: Any, history: list, doc: dict, last: dict, status: str) -> tuple:
        if message is None:  # already answered by show_question (a question over the length limit)
            return gr.skip(), gr.skip(), gr.skip(), gr.skip()
        history = list(history or [])
        if history and history[-1].get("role") == "assistant" and SEARCHING in str(history[-1].get("content")):
            history = history[:-1]  # the question stays; the note gives way to the answer
        cleared = "" if 'class="error"' in (status or "") else gr.skip()  # a stale error goes on success
        if not isinstance(message, str) or not message.strip():
            return history + [{"role": "assistant", "content": EMPTY_PROMPT}], gr.skip(), last, gr.skip()
        try:
            qa = session_article(articles, doc)
            answer, last = ask(qa, message, last or {})
        except QAError:
            return history + [{"role": "assistant", "content": UNREADABLE_QUESTION}], gr.skip(), last, gr.skip()
        except Exception:  # noqa: BLE001 - a bug must not end the conversation; it is logged in full
            log.exception("answering %r failed", message[:200])
            return history + [{"role": "assistant", "content": UNEXPECTED}], gr.skip(), last, gr.skip()
        shown = answer if answer.text is not None else answer.tentative
        span = (shown.start, shown.end) if shown is not None else None
        view = article_html(qa, span, tentative=answer.text is None, title=session_title(doc))
        return history + answer_messages(qa, answer), view, last, cleared

    def chat(message: str, previous_question: str = "") -> str:
        """Answer a question about the bundled article; `previous_question` helps follow-ups."""
        if not isinstance(message, str) or not message.strip():
            return EMPTY_PROMPT
        if len(message) > MAX_QUESTION_CHARS:
            return TOO_LONG_QUESTION
        previous = previous_question[:MAX_QUESTION_CHARS] if isinstance(previous_question, str) else ""
        try:
            qa = articles.get(DEFAULT_KEY)
            answer, _ = ask(qa, message, {"question": previous or None})
        except QAError:
            return UNREADABLE_QUESTION
        except Exception:  # noqa: BLE001
            log.exception("answering %r failed", str(message)[:200])
            return UNEXPECTED
        if answer.tentative is not None:
            return f"Mungkin: {answer.tentative.text}, kurang yakin ({round(100 * answer.tentative.score)}%)"
        if answer.text is None:
            return DECLINE
        return f"{answer.text}\n\nKeyakinan: {confidence_label(answer.score)} ({round(100 * answer.score)}%)"

    index_lock = threading.Lock()

    def failed(message: str) -> tuple:
        line = status_html(f"Gagal: {message}", "error")
        return gr.skip(), line, *[gr.skip()] * 5, line  # under the chat, and beside the article controls

    def index(load: Callable[[], tuple[str | None, str]]) -> Iterator[tuple]:
        """Read (or fetch) the article, then index it in a worker thread and stream the progress (per
        batch of passages) to the status line. Only indexing holds the lock: a slow news site delays
        nobody else."""
        updates: queue.Queue[tuple[float, str] | None] = queue.Queue()
        result: dict[str, Any] = {}

        def work() -> None:
            try:
                title, text = load()
                with index_lock:  # one at a time, even after a closed page abandoned its event
                    result["qa"] = ArticleQA.from_text(
                        text, title=title, progress=lambda fraction, desc: updates.put((fraction, desc)))
            except Exception as exc:  # noqa: BLE001 - handed to the event below, which answers the user
                result["error"] = exc
            finally:
                updates.put(None)

        threading.Thread(target=work, name="index-article", daemon=True).start()
        line = progress_html(0.0, "Membaca artikel")
        yield gr.skip(), line, *[gr.skip()] * 5, line
        while (update := updates.get()) is not None:
            line = progress_html(*update)
            yield gr.skip(), line, *[gr.skip()] * 5, line
        release_memory()
        exc = result.get("error")
        if isinstance(exc, ArticleError):
            yield failed(ARTICLE_ERRORS.get(exc.reason, "Artikel tidak dapat dibaca."))
            return
        if isinstance(exc, QAError):
            yield failed("Artikel tidak dapat dibaca.")
            return
        if exc is not None:
            log.error("loading an article failed", exc_info=exc)
            yield failed(UNEXPECTED)
            return
        qa = result["qa"]
        articles.put(qa)
        label = f"“{qa.title}”" if qa.title else "Artikel baru"
        doc = {"key": qa.sha256, "text": qa.article, "title": qa.title}
        message = f"{label} siap: {len(qa.passages)} bagian terindeks. Silakan bertanya."
        # the bundled article's example questions do not fit another article: none are offered
        line = status_html(message, "ready")
        yield (doc, line, article_html(qa), [], {}, title_html(qa.title or "Artikel baru"), gr.update(visible=False),
               line)

    def upload(file: Any, request: gr.Request) -> Iterator[tuple]:
        """The upload, read and deleted here (unprocessed: gradio would keep a copy for a file path)."""
        root = upload_root()
        raw = file.get("path") if isinstance(file, dict) else None
        if not raw:
            yield failed("Pilih berkas terlebih dahulu.")
            return
        path = Path(raw).resolve()
        sender = client_id(request.headers.get("cookie"), request.client.host if request.client else None)
        if not path.is_relative_to(root) or path == root or not path.is_file() or not owners.owns(path, sender):
            yield failed("Berkas tidak ditemukan. Unggah lagi.")  # only the sender's own uploads are read
            return
        try:
            name = str(file.get("orig_name") or path.name)
            if Path(name).suffix.lower() not in UPLOAD_TYPES:
                yield failed("Jenis berkas tidak didukung. Gunakan .txt, .md, atau .html.")
                return
            if path.stat().st_size > MAX_UPLOAD_BYTES:
                yield failed("Berkas terlalu besar (maksimal 5 MB).")
                return
            try:
                title, text = read_article(path)
            except ArticleError as exc:
                yield failed(ARTICLE_ERRORS.get(exc.reason, "Artikel tidak dapat dibaca."))
                return
        except OSError:
            yield failed("Berkas tidak ditemukan. Unggah lagi.")
            return
        finally:
            remove_upload(path, root)  # read (or refused): keep no copy
        title = title or first_line_title(text)
        yield from index(lambda: (title, text))

    # gradio hands the request to a parameter annotated gr.Request; this module's annotations are strings
    upload.__annotations__["request"] = gr.Request

    def paste(text: Any, title: Any) -> Iterator[tuple]:
        text = text if isinstance(text, str) else ""
        if len(text.encode("utf-8", "replace")) > MAX_UPLOAD_BYTES:
            yield failed("Teks terlalu panjang (maksimal 5 MB).")
            return
        name = (title if isinstance(title, str) else "").strip() or first_line_title(text)
        yield from index(lambda: (name, text))

    def from_link(url: Any) -> Iterator[tuple]:
        url = (url if isinstance(url, str) else "").strip()
        if not url:
            yield failed("Tempel tautan berita terlebih dahulu.")
            return
        yield from index(lambda: fetch_article(url, allow_private=allow_private_urls))

    def reset() -> tuple:
        default = articles.get(DEFAULT_KEY)
        line = status_html("Kembali ke artikel bawaan.")
        return ({"key": DEFAULT_KEY}, line, article_html(default, title=DEFAULT_TITLE), [], {},
                title_html(DEFAULT_TITLE), gr.update(visible=True), line)

    with gr.Blocks(title="Tanya Artikel") as demo:
        gr.Markdown("# Tanya Artikel\nTanyakan apa saja tentang artikel berita ini. Jawaban diambil langsung dari "
                    "teks artikel; bila artikel tidak memuat jawabannya, kami akan bilang.", elem_id="intro")
        doc = gr.State({"key": DEFAULT_KEY})
        last = gr.State({})
        asked = gr.State("")  # the question being answered (the box is cleared at once)
        with gr.Row(elem_id="layout"):
            with gr.Column(scale=3, elem_id="chat-column"):
                heading = gr.HTML(title_html(DEFAULT_TITLE), elem_id="active-title", container=False, padding=False)
                chatbot = gr.Chatbot(label="Percakapan", elem_id="chatbot", sanitize_html=True, height=None,
                                     latex_delimiters=[],  # "$$" in a question or an article is text, not math
                                     min_height=160, max_height=520,
                                     placeholder="Belum ada percakapan. Ketik pertanyaan di bawah atau pilih contoh.")
                status = gr.HTML("", elem_id="status", container=False, padding=False)
                question = gr.Textbox(label="Pertanyaan", elem_id="question", lines=1, max_lines=4,
                                      placeholder="Ketik pertanyaan, mis. Kapan penghargaan diserahkan?")
                with gr.Row():
                    send = gr.Button("Kirim", variant="primary", elem_id="send")
                    clear = gr.Button("Hapus percakapan", elem_id="clear")
                examples = gr.Examples(EXAMPLES, inputs=question, label="Contoh pertanyaan (klik untuk memakai)")
            with gr.Column(scale=2, elem_id="article-column"):
                view = gr.HTML(article_html(articles.get(DEFAULT_KEY), title=DEFAULT_TITLE), elem_id="article",
                               padding=False)
                with gr.Accordion("Ganti artikel", open=False, elem_id="change-article"):
                    # no file_types (gradio would refuse other files in English): the page script sets the
                    # picker's accept attribute instead, and upload() refuses other types in Indonesian
                    file = gr.UploadButton("Unggah berkas .txt, .md, atau .html (maks. 5 MB)", type="filepath",
                                           elem_id="upload")
                    link = gr.Textbox(label="Atau tempel tautan berita", elem_id="url",
                                      placeholder="https://…")
                    use_link = gr.Button("Muat dari tautan", elem_id="use-url")
                    pasted_title = gr.Textbox(label="Judul (opsional)", elem_id="paste-title")
                    pasted = gr.Textbox(label="Atau tempel teks artikel", lines=6, elem_id="paste")
                    use_paste = gr.Button("Gunakan teks ini", elem_id="use-paste")
                    reset_btn = gr.Button("Kembali ke artikel bawaan", elem_id="reset")
                    load_status = gr.HTML("", elem_id="load-status", container=False, padding=False)

        loaded = [doc, status, view, chatbot, last, heading, examples.dataset, load_status]
        private: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
        # several reads or fetches at once; the indexing itself is one at a time (index_lock)
        indexing = {**private, "concurrency_limit": 4, "concurrency_id": "index"}
        gr.on([question.submit, send.click], show_question, [question, chatbot], [question, chatbot, asked],
              **private).then(respond, [asked, chatbot, doc, last, status], [chatbot, view, last, status],
                              concurrency_limit=2, concurrency_id="qa", **private
                              ).then(None, js=SCROLL_TO_ANSWER, **private)
        def clear_chat(doc: dict) -> tuple:
            """The conversation and its highlight go; the article stays."""
            qa = articles.get(doc.get("key") if isinstance(doc, dict) else None)
            return [], {}, (article_html(qa, title=session_title(doc)) if qa is not None else gr.skip())

        clear.click(clear_chat, [doc], [chatbot, last, view], **private)
        # unprocessed, so gradio neither checks the type in English nor leaves a copy of the file behind
        to_top = {"fn": None, "js": SCROLL_TO_TOP, **private}  # the new article and the chat come into view
        file.upload(upload, [file], loaded, preprocess=False, **indexing).then(**to_top)
        gr.on([link.submit, use_link.click], from_link, [link], loaded, **indexing).then(**to_top)
        use_paste.click(paste, [pasted, pasted_title], loaded, **indexing).then(**to_top)
        reset_btn.click(reset, outputs=loaded, **private).then(**to_top)
        gr.api(chat, api_name="chat", concurrency_limit=2, concurrency_id="qa")
    # api_open=False: the REST routes never skip the queue (and its concurrency limits)
    demo.queue(max_size=64, default_concurrency_limit=2, api_open=False)
    demo.upload_owners = owners
    return demo


def launch(demo: Any, host: str, port: int, **kwargs: Any) -> None:
    from starlette.middleware import Middleware

    # footer_links=[]: gradio's footer is in English; the API is documented in the README
    middleware = [Middleware(OnlyPublicApi, events=frozenset(demo.fns)),
                  Middleware(UploadLimits, owners=demo.upload_owners)]
    demo.launch(server_name=host, server_port=port, max_file_size=MAX_UPLOAD_BYTES, show_error=False, css=CSS,
                head=HEAD, footer_links=[], app_kwargs={"middleware": middleware}, **kwargs)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def port_taken(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be served (checked before the models load), or None when it is free."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # like the server: TIME_WAIT is no obstacle
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Tanya Artikel: chat about a news article (Gradio).")
    ap.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                    help="address to bind (default 127.0.0.1, or $GRADIO_SERVER_NAME)")
    ap.add_argument("--port", default=os.environ.get("GRADIO_SERVER_PORT", "7860"),
                    help="port, 1 to 65535 (default 7860, or $GRADIO_SERVER_PORT)")
    ap.add_argument("--expose", action="store_true",
                    help="allow a non-loopback --host: anyone who can reach it can use the app")
    source = ap.add_mutually_exclusive_group()
    source.add_argument("--article", help="start with this article (.txt, .md, .html) instead of the bundled one")
    source.add_argument("--collection", help="answer across this collection (folder, Milvus Lite .db file, or "
                        "Milvus server URI) instead of one article")
    ap.add_argument("--allow-private-urls", action="store_true",
                    help="let the link field fetch private, loopback and link-local addresses (intranets, tests)")
    args = ap.parse_args(argv)
    port = str(args.port).strip()
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        print(f"error: port {args.port!r} is not a port number from 1 to 65535 (--port or $GRADIO_SERVER_PORT)",
              file=sys.stderr)
        return 2
    args.port = int(port)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("tanya-artikel", "qa"):  # our own progress and rebuild messages, not every HTTP request
        logging.getLogger(name).setLevel(logging.INFO)
    import bm25s  # noqa: F401 - it sets DEBUG on its own logger when imported: imported here, then quietened

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    if not is_loopback(args.host) and not args.expose:
        print(f"error: --host {args.host} would expose the app beyond this machine; add --expose if you mean it",
              file=sys.stderr)
        return 2
    taken = port_taken(args.host, args.port)
    if taken:
        print(f"error: cannot serve on {args.host}:{args.port} ({taken}); choose another --port", file=sys.stderr)
        return 2
    uploads = private_upload_dir()
    # a plain `kill` stops the server like Ctrl+C does, so the upload directory is removed
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    from qa import ArticleError, ArticleQA, QAError

    if args.collection:
        demo = _collection_page(args.collection)
        if demo is None:
            return 2
        return serve(demo, args.host, args.port, uploads)
    try:
        qa = ArticleQA.from_file(args.article) if args.article else ArticleQA.default()
        qa.reader  # load the reader now, so the first question is fast  # noqa: B018
    except ArticleError as exc:  # in Indonesian, like the page (the English detail is for programs)
        print(f"error: {ARTICLE_ERRORS.get(exc.reason, 'Artikel tidak dapat dibaca.')} ({args.article})",
              file=sys.stderr)
        return 2
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    articles = Articles()
    articles.put(qa, DEFAULT_KEY)
    return serve(build(articles, allow_private_urls=args.allow_private_urls), args.host, args.port, uploads)


def _collection_page(where: str) -> Any:
    """The collection's page, or None after printing why the collection cannot be opened (in Indonesian)."""
    from collection_app import build as build_collection
    from qa import Collection, QAError
    from qa.cli import message
    from qa.collection_cli import collection_source

    try:
        col = Collection.open(**collection_source(where))
        col.reader  # loaded now, so the first question is fast  # noqa: B018
    except QAError as exc:
        print(f"error: {message(exc)}", file=sys.stderr)
        return None
    return build_collection(col)


def serve(demo: Any, host: str, port: int, uploads: Path | None) -> int:
    """Serve until Ctrl+C or ``kill``."""
    if uploads is not None:  # only our own directory: a GRADIO_TEMP_DIR of the user's may hold other files
        threading.Thread(target=sweep_forever, args=(uploads,), name="sweep-uploads", daemon=True).start()
    try:
        launch(demo, host, port, prevent_thread_lock=True)
    except OSError as exc:
        print(f"error: cannot serve on {host}:{port} ({exc}); choose another --port", file=sys.stderr)
        return 2
    try:  # wait here rather than in gradio's loop, which prints an English line on Ctrl+C or `kill`
        while demo.is_running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        demo.close(verbose=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
