"""The chat page for a collection: ``python app.py --collection koleksi/``.

Questions are answered across every article of the collection; each answer names its article (title,
date, link), and that article opens beside the chat with the answer marked. Shares the single-article
page's look and message texts (:mod:`app`) and its HTTP guards (:mod:`guards`); only ``/chat`` is
callable through the API.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import Any

import app
from guards import UploadOwners
from qa.chunking import enclosing, split_sentences

log = logging.getLogger("tanya-artikel")
INTRO = ("# Tanya Arsip Berita\nTanyakan apa saja tentang berita di koleksi ini. Jawaban diambil langsung dari "
         "teks artikel, lengkap dengan judul, tanggal dan tautannya; bila tidak ada artikel yang memuat "
         "jawabannya, kami akan bilang.")
SEARCHING = "Mencari jawaban di koleksi…"
NO_ANSWER = "Maaf, jawabannya tidak ditemukan di artikel-artikel koleksi ini."
BAD_DATE = "Tanggal tidak dapat dibaca. Tulis sebagai TTTT-BB-HH, misalnya 2025-10-21."
PLACEHOLDER = '<div class="article" id="article-view"><div class="article-text">Artikel sumber jawaban akan ' \
              "tampil di sini.</div></div>"


@dataclass(frozen=True)
class Shown:
    """An article as the article panel shows it."""

    article: str
    title: str | None


def article_line(info: Any) -> str:
    """Title, date and link of an answer's article, as chat Markdown (the link only if it is http(s))."""
    parts = [f"**{app.escape(info.title or info.id)}**"]
    if info.date:
        parts.append(info.date)
    if info.url and info.url.startswith(("http://", "https://")):
        parts.append(f'<a href="{html.escape(info.url, quote=True)}" target="_blank" rel="noopener">tautan</a>')
    return "Artikel: " + " · ".join(parts)


def meta_html(info: Any) -> str:
    """The date and link under the article's title in the article panel."""
    parts = [html.escape(info.date)] if info.date else []
    if info.url and info.url.startswith(("http://", "https://")):
        parts.append(f'<a href="{html.escape(info.url, quote=True)}" target="_blank" rel="noopener">buka sumber</a>')
    return f'<div class="article-meta">{" · ".join(parts)}</div>' if parts else ""


def build(col: Any) -> Any:
    """The page and its events, served by :func:`app.launch` (same middleware as the article page)."""
    import gradio as gr

    from qa import CollectionError, QAError

    def ask(question: str, last: dict, since: Any, until: Any) -> tuple[Any, dict]:
        from qa.conversation import contextual_query

        context = contextual_query(question, last.get("question"), last.get("answer"))
        answer = col.ask(question, context=context, since=(since or "").strip() or None,
                         until=(until or "").strip() or None)
        return answer, {"question": f"{context} {question}" if context else question, "answer": answer.text}

    def show_question(message: Any, history: list) -> tuple:
        if not isinstance(message, str) or not message.strip():
            return gr.skip(), gr.skip(), ""
        if len(message) > app.MAX_QUESTION_CHARS:
            return gr.skip(), list(history or []) + [{"role": "assistant", "content": app.TOO_LONG_QUESTION}], None
        waiting = [{"role": "user", "content": app.escape(message)}, {"role": "assistant", "content": SEARCHING}]
        return "", list(history or []) + waiting, message

    def respond(message: Any, history: list, last: dict, since: Any, until: Any) -> tuple:
        if message is None:
            return gr.skip(), gr.skip(), gr.skip()
        history = [m for m in (history or []) if SEARCHING not in str(m.get("content"))]
        if not isinstance(message, str) or not message.strip():
            return history + [{"role": "assistant", "content": app.EMPTY_PROMPT}], gr.skip(), last
        try:
            answer, last = ask(message, last or {}, since, until)
        except CollectionError as exc:
            text = BAD_DATE if exc.reason == "bad_date" else app.UNEXPECTED
            return history + [{"role": "assistant", "content": text}], gr.skip(), last
        except QAError:
            return history + [{"role": "assistant", "content": app.UNREADABLE_QUESTION}], gr.skip(), last
        except Exception:  # noqa: BLE001 - a bug must not end the conversation; it is logged in full
            log.exception("answering %r failed", message[:200])
            return history + [{"role": "assistant", "content": app.UNEXPECTED}], gr.skip(), last
        shown = answer if answer.text is not None else answer.tentative
        if shown is None or shown.article is None:
            return history + [{"role": "assistant", "content": NO_ANSWER}], gr.skip(), last
        info, text = col.article(shown.article.id)
        source = app.highlighted_source(text, enclosing(split_sentences(text), shown.start, shown.end), shown)
        view = app.article_html(Shown(text, info.title), (shown.start, shown.end), tentative=answer.text is None,
                                meta_html=meta_html(info))
        if answer.text is None:
            head = f"Mungkin: **{app.escape(shown.text)}**, kurang yakin ({round(100 * shown.score)}%)"
        else:
            head = (f"**{app.escape(shown.text)}**\n\nKeyakinan: {app.confidence_label(shown.score)} "
                    f"({round(100 * shown.score)}%)")
        messages = [{"role": "assistant", "content": f"{head}\n\n{article_line(info)}"},
                    {"role": "assistant", "content": source, "metadata": {"title": "Sumber"}}]
        return history + messages, view, last

    def chat(message: str, previous_question: str = "") -> str:
        """Answer a question across the collection; `previous_question` helps follow-ups."""
        if not isinstance(message, str) or not message.strip():
            return app.EMPTY_PROMPT
        if len(message) > app.MAX_QUESTION_CHARS:
            return app.TOO_LONG_QUESTION
        previous = previous_question[: app.MAX_QUESTION_CHARS] if isinstance(previous_question, str) else ""
        try:
            answer, _ = ask(message, {"question": previous or None}, None, None)
        except QAError:
            return app.UNREADABLE_QUESTION
        except Exception:  # noqa: BLE001
            log.exception("answering %r failed", str(message)[:200])
            return app.UNEXPECTED
        shown = answer if answer.text is not None else answer.tentative
        if shown is None or shown.article is None:
            return NO_ANSWER
        info = shown.article
        where = " · ".join(x for x in (info.title or info.id, info.date, info.url) if x)
        if answer.text is None:
            return f"Mungkin: {shown.text}, kurang yakin ({round(100 * shown.score)}%)\n\nArtikel: {where}"
        return (f"{answer.text}\n\nKeyakinan: {app.confidence_label(answer.score)} ({round(100 * answer.score)}%)"
                f"\n\nArtikel: {where}")

    with gr.Blocks(title="Tanya Arsip Berita") as demo:
        gr.Markdown(INTRO, elem_id="intro")
        last = gr.State({})
        asked = gr.State("")
        with gr.Row(elem_id="layout"):
            with gr.Column(scale=3, elem_id="chat-column"):
                gr.HTML(f'<div class="active-title">Koleksi: <strong>{len(col):,} artikel</strong></div>',
                        elem_id="active-title", container=False, padding=False)
                chatbot = gr.Chatbot(label="Percakapan", elem_id="chatbot", sanitize_html=True, height=None,
                                     latex_delimiters=[], min_height=160, max_height=520,
                                     placeholder="Belum ada percakapan. Ketik pertanyaan di bawah.")
                question = gr.Textbox(label="Pertanyaan", elem_id="question", lines=1, max_lines=4,
                                      placeholder="Ketik pertanyaan tentang berita di koleksi")
                with gr.Row():
                    since = gr.Textbox(label="Sejak tanggal (opsional)", placeholder="TTTT-BB-HH", elem_id="since")
                    until = gr.Textbox(label="Sampai tanggal (opsional)", placeholder="TTTT-BB-HH", elem_id="until")
                with gr.Row():
                    send = gr.Button("Kirim", variant="primary", elem_id="send")
                    clear = gr.Button("Hapus percakapan", elem_id="clear")
            with gr.Column(scale=2, elem_id="article-column"):
                view = gr.HTML(PLACEHOLDER, elem_id="article", padding=False)
        private: dict[str, Any] = {"api_visibility": "private", "show_progress": "hidden"}
        gr.on([question.submit, send.click], show_question, [question, chatbot], [question, chatbot, asked],
              **private).then(respond, [asked, chatbot, last, since, until], [chatbot, view, last],
                              concurrency_limit=2, concurrency_id="qa", **private
                              ).then(None, js=app.SCROLL_TO_ANSWER, **private)
        clear.click(lambda: ([], {}, PLACEHOLDER), outputs=[chatbot, last, view], **private)
        gr.api(chat, api_name="chat", concurrency_limit=2, concurrency_id="qa")
    demo.queue(max_size=64, default_concurrency_limit=2, api_open=False)
    demo.upload_owners = UploadOwners()  # no uploads here; app.launch's guards expect the registry
    return demo

