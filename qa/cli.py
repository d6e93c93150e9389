"""Command line: ``python -m qa ask|chat|retrieve|index``. A thin layer over the public API.

Messages are in Indonesian, like the answers; ``--json`` output keeps English keys for programs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from dataclasses import asdict
from typing import Any, NoReturn

from .errors import ArticleError, CollectionError, ModelError, QAError, QuestionError
from .settings import Settings

QUIT = (":q", ":quit", ":keluar")
SCORE_HELP = ("Skor: peluang (0-1) bahwa jawaban benar; bila tidak ada jawaban di artikel (JSON: text null), "
              "skor adalah keyakinan bahwa artikel tidak menyebutkannya, yaitu 1 dikurangi peluang kandidat "
              "terbaik (kandidat itu ada di alternatives).")
ARTICLE_ERRORS = {
    "missing": "berkas artikel tidak ditemukan",
    "empty": "artikel kosong: tidak ada teks yang bisa dibaca",
    "binary": "berkas ini bukan teks (berisi data biner)",
    "pdf": "berkas ini PDF, bukan teks: salin isinya ke berkas .txt terlebih dahulu",
    "encoding": "berkas bukan teks UTF-8: simpan ulang sebagai UTF-8 lalu coba lagi",
    "no_text": "tidak ditemukan teks utama di halaman ini",
    "too_large": "artikel terlalu besar",
    "bad_url": "bukan alamat web: gunakan alamat yang diawali http:// atau https://",
    "refused": "alamat ditolak: hanya halaman web publik yang bisa diambil (alamat jaringan lokal atau privat "
               "ditolak; --allow-private untuk intranet)",
    "unreachable": "halaman tidak dapat diambil (server tidak menjawab, atau menjawab dengan kesalahan)",
    "redirects": "terlalu banyak pengalihan (redirect) dari alamat ini",
    "not_html": "alamat ini bukan halaman web (HTML)",
}

COLLECTION_ERRORS = {
    "not_collection": "ini bukan koleksi: buat dulu dengan `python -m qa collection build KOLEKSI --jsonl BERKAS`",
    "exists": "koleksi sudah ada di sini atau foldernya tidak kosong: pakai `collection add`, atau pilih folder baru",
    "id_taken": "id artikel sudah dipakai artikel lain: hapus dulu (collection remove) atau beri id lain",
    "no_article": "tidak ada artikel dengan id itu di koleksi",
    "bad_date": "tanggal tidak dapat dibaca: tulis sebagai TTTT-BB-HH, misalnya 2025-10-21",
    "bad_line": "baris tidak valid: harus objek JSON dengan teks artikel di \"text\"",
    "unreachable": "server Milvus tidak dapat dihubungi: periksa alamatnya dan apakah server berjalan",
    "fixed_setting": "pengaturan indeks koleksi tidak bisa diubah setelah koleksi dibuat",
    "bad_backend": "backend atau alamat koleksi tidak cocok (faiss: folder; milvus: berkas .db atau alamat server)",
    "write_failed": "indeks koleksi tidak dapat ditulis (disk penuh atau hanya-baca?)",
}


def message(exc: QAError) -> str:
    """The Indonesian message for an error a user can fix (the English one stays in the exception)."""
    if isinstance(exc, ArticleError):
        return ARTICLE_ERRORS.get(exc.reason, "artikel tidak dapat dibaca")
    if isinstance(exc, QuestionError) and exc.reason == "too_long":
        return f"pertanyaan terlalu panjang (paling banyak {Settings.max_question_chars} karakter): ringkaslah"
    if isinstance(exc, QuestionError):
        return "pertanyaan kosong atau tidak dapat dipakai: tulis pertanyaan tentang artikel"
    if isinstance(exc, CollectionError):
        return f"{COLLECTION_ERRORS.get(exc.reason, 'koleksi tidak dapat dipakai')}. Rincian: {exc}"
    if isinstance(exc, ModelError):
        return f"model tidak dapat dimuat. Rincian untuk perbaikan: {exc}"
    return f"masukan tidak valid. Rincian: {exc}"


def clean(text: str) -> str:
    """Arguments arrive with undecodable bytes as surrogates (invalid UTF-8): replace them with U+FFFD."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Usage mistakes in the same form as other errors (argparse's own detail stays in English)."""
        self.print_usage(sys.stderr)
        self.exit(2, f"Kesalahan: perintah tidak lengkap atau tidak dikenal ({message}). Lihat --help.\n")


def _parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="python -m qa", description="Tanya jawab berbahasa Indonesia tentang sebuah "
                                 "artikel berita. Tanpa --article atau --url, artikel bawaan (penghargaan HAM Banten "
                                 "2025) yang dipakai.", epilog=SCORE_HELP)
    sub = ap.add_subparsers(dest="command", required=True, metavar="PERINTAH")

    def common(p: argparse.ArgumentParser) -> None:
        source = p.add_mutually_exclusive_group()
        source.add_argument("--article", metavar="BERKAS", help="berkas artikel (.txt, .md atau .html); bawaan: "
                            "artikel bawaan")
        source.add_argument("--url", metavar="URL", help="alamat halaman berita (http/https): teks utama dan judulnya "
                            "diambil")
        source.add_argument("--collection", metavar="KOLEKSI", help="tanya seluruh koleksi (folder, berkas Milvus "
                            "Lite .db, atau alamat server Milvus); lihat perintah collection")
        p.add_argument("--since", metavar="TANGGAL", help="dengan --collection: hanya artikel sejak tanggal ini "
                       "(TTTT-BB-HH)")
        p.add_argument("--until", metavar="TANGGAL", help="dengan --collection: hanya artikel sampai tanggal ini")
        p.add_argument("--allow-private", action="store_true", help="izinkan --url ke alamat jaringan lokal/privat "
                       "(intranet)")

    def reading(p: argparse.ArgumentParser) -> None:
        p.add_argument("-k", "--top-k", type=int, default=None, help="jumlah bagian artikel yang dibaca (bawaan 3)")
        p.add_argument("--context", metavar="PERTANYAAN", help='pertanyaan sebelumnya, untuk pertanyaan lanjutan '
                       'seperti "Kapan itu terjadi?" (seperti di aplikasi chat)')

    ask = sub.add_parser("ask", help="jawab satu pertanyaan (jawaban, skor, kalimat sumber)",
                         description="Jawab pertanyaan dari artikel: jawaban, skor dan kalimat sumbernya.",
                         epilog=SCORE_HELP)
    ask.add_argument("question", metavar="PERTANYAAN",
                     help='pertanyaannya, atau "-" untuk menjawab satu pertanyaan per baris dari stdin')
    reading(ask)
    ask.add_argument("--json", action="store_true", help="cetak JSON untuk program (kunci berbahasa Inggris)")
    common(ask)
    chat = sub.add_parser("chat", help="sesi tanya jawab interaktif dengan pertanyaan lanjutan",
                          description="Sesi tanya jawab: pertanyaan lanjutan memakai pertanyaan sebelumnya, panah "
                          "atas/bawah memanggil riwayat, :q untuk keluar.", epilog=SCORE_HELP)
    chat.add_argument("-k", "--top-k", type=int, default=None, help="jumlah bagian artikel yang dibaca (bawaan 3)")
    common(chat)
    ret = sub.add_parser("retrieve", help="tampilkan bagian artikel yang paling relevan",
                         description="Daftar bagian artikel teratas untuk sebuah pertanyaan (hybrid: dense + BM25).")
    ret.add_argument("question", metavar="PERTANYAAN")
    ret.add_argument("-k", "--top-k", type=int, default=3, help="jumlah bagian yang ditampilkan (bawaan 3)")
    ret.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default="hybrid",
                     help="cara pencarian (bawaan hybrid)")
    ret.add_argument("--json", action="store_true", help="cetak JSON untuk program")
    common(ret)
    cached = sub.add_parser("cache", help="daftar atau kosongkan indeks artikel yang tersimpan",
                            description="Indeks artikel tersimpan di folder cache (paling banyak 200 artikel atau "
                            "500 MB; yang paling lama tidak dipakai dihapus lebih dulu).")
    what = cached.add_mutually_exclusive_group(required=True)
    what.add_argument("--list", action="store_true", help="daftar indeks: ukuran dan kapan terakhir dipakai")
    what.add_argument("--clear", action="store_true", help="hapus semua indeks artikel (model tetap)")
    cached.add_argument("--json", action="store_true", help="cetak JSON untuk program")
    from .collection_cli import add_parser

    add_parser(sub)
    idx = sub.add_parser("index", help="bangun (atau periksa) indeks artikel",
                         description="Bangun indeks bagian-bagian artikel, atau pakai ulang bila masih sesuai.")
    idx.add_argument("--json", action="store_true", help="cetak JSON untuk program")
    common(idx)
    return ap


def _load(args: argparse.Namespace) -> Any:
    from .pipeline import ArticleQA

    if getattr(args, "collection", None):
        from .collection import Collection
        from .collection_cli import collection_source

        return Collection.open(**collection_source(args.collection))
    if args.since or args.until:
        raise QAError("--since and --until filter a collection: use them with --collection")
    if args.url:
        return ArticleQA.from_url(clean(args.url), allow_private=args.allow_private)
    return ArticleQA.from_file(args.article) if args.article else ArticleQA.default()


def _cache(args: argparse.Namespace) -> int:
    from . import cache

    if args.clear:
        n = cache.clear()
        print(json.dumps({"removed": n}) if args.json else f"{n} indeks artikel dihapus dari {cache.index_root()}")
        return 0
    found = cache.entries()
    if args.json:
        print(json.dumps([{"path": str(e.path), "bytes": e.bytes, "last_used": e.last_used} for e in found], indent=2))
        return 0
    total = sum(e.bytes for e in found) / 1e6
    print(f"{len(found)} indeks artikel, {total:.1f} MB, di {cache.index_root()}")
    for entry in found:
        print(cache.describe(entry))
    return 0


def run(args: argparse.Namespace) -> int:
    if args.command == "cache":
        return _cache(args)
    if args.command == "collection":
        from .collection_cli import run as run_collection

        return run_collection(args)
    qa = _load(args)
    if args.command == "index":
        if args.collection:
            raise QAError("index builds one article's index; a collection is built with `collection build`")
        info = {"index_dir": str(qa.index_dir), "passages": len(qa.passages), "article_sha256": qa.sha256,
                "embedder": qa.embedder.fingerprint}
        print(json.dumps(info, indent=2) if args.json else
              f"Indeks siap: {info['passages']} bagian artikel di {info['index_dir']}")
        return 0
    if args.command == "retrieve":
        if args.collection:
            passages = qa.search(clean(args.question), k=args.top_k, mode=args.mode, since=args.since,
                                 until=args.until)
        else:
            passages = qa.retrieve(clean(args.question), k=args.top_k, mode=args.mode)
        if args.json:
            print(json.dumps([asdict(p) for p in passages], ensure_ascii=False, indent=2))
        else:
            for rank, p in enumerate(passages, 1):
                where = f" (artikel: {_article_name(p.article)})" if p.article else ""
                print(f"[{rank}] skor={p.score:.4f} karakter {p.start}-{p.end}{where}\n{p.text}\n")
        return 0
    if args.command == "chat":
        return _chat(qa, args)
    context = clean(args.context) if args.context else None
    if args.question != "-":
        _print_answer(qa, _ask(qa, clean(args.question), context, args.top_k, args=args), args.json, indent=2)
        return 0
    failed = 0
    for raw in sys.stdin.buffer:  # bytes: a line of invalid UTF-8 is cleaned, and the batch goes on
        try:
            _print_answer(qa, _ask(qa, raw.decode("utf-8", "replace").rstrip("\r\n"), context, args.top_k,
                               args=args), args.json, indent=None)
        except QAError as exc:  # one bad line must not stop the batch
            failed += 1
            print(json.dumps({"error": message(exc), "kind": type(exc).__name__}, ensure_ascii=False) if args.json
                  else f"Kesalahan: {message(exc)}", flush=True)
    return 1 if failed else 0


def _ask(qa: Any, question: str, previous: str | None, k: int | None, previous_answer: str | None = None,
         args: argparse.Namespace | None = None) -> Any:
    """Answer like the chat app: a follow-up ("Kapan itu?") is searched together with the previous turn."""
    from .conversation import contextual_query

    context = contextual_query(question, previous, previous_answer)
    if args is not None and getattr(args, "collection", None):
        return qa.ask(question, k=k, context=context, since=args.since, until=args.until)
    return qa.ask(question, k=k, context=context)


def _article_name(info: Any) -> str:
    """Where a collection's answer comes from: title, date, link."""
    return " · ".join(p for p in (info.title or info.id, info.date, info.url) if p)


def _print_answer(qa: Any, answer: Any, as_json: bool, indent: int | None) -> None:
    source = qa.sentence(answer) if answer.text else None
    guess = answer.tentative
    if as_json:
        data = asdict(answer)
        data["source_sentence"] = source
        data["article"] = None if answer.article is None else asdict(answer.article)
        data["tentative"] = None if guess is None else {k: getattr(guess, k) for k in ("text", "score", "start", "end")}
        print(json.dumps(data, ensure_ascii=False, indent=indent), flush=True)
    elif guess is not None:
        print(f"Mungkin: {guess.text} (kurang yakin, skor {guess.score:.2f})")
        print(f"Bagian terdekat: {qa.sentence(guess)}")
        if guess.article:
            print(f"Artikel: {_article_name(guess.article)}")
    elif answer.text is None:
        print(f"Tidak ada jawaban di artikel (skor {answer.score:.2f}: keyakinan bahwa artikel tidak menyebutkannya).")
        if answer.passage:
            print(f"Bagian terdekat: {answer.passage.text}")
    else:
        print(f"Jawaban: {answer.text}\nSkor: {answer.score:.2f} (peluang jawaban benar)\nSumber: {source}")
        if answer.article:
            print(f"Artikel: {_article_name(answer.article)}")


def _chat(qa: Any, args: argparse.Namespace) -> int:
    """Questions until ``:q`` or end of input; each may refer back to the previous one."""
    from .conversation import contextual_query
    from .settings import cache_dir

    history = cache_dir() / "riwayat-chat"
    try:
        import readline  # line editing and arrow-key history for input()

        with contextlib.suppress(OSError):
            readline.read_history_file(history)
    except ImportError:  # not on every platform; the chat works without it
        readline = None  # type: ignore[assignment]
    if args.collection:
        print(f"Koleksi: {len(qa):,} artikel. Ketik pertanyaan; :q untuk keluar.")
    else:
        name = qa.title or ("tanpa judul" if args.article or args.url else "artikel bawaan")
        print(f"Artikel: {name} ({len(qa.article):,} karakter). Ketik pertanyaan; :q untuk keluar.")
    previous: str | None = None
    previous_answer: str | None = None
    try:
        while True:
            try:
                line = clean(input("Pertanyaan> ")).strip()
            except (EOFError, KeyboardInterrupt):
                print()
                break
            if not sys.stdin.isatty():  # piped questions: show them, so the transcript reads like a chat
                print(line)
            if line in QUIT:
                break
            if not line:
                continue
            try:
                context = contextual_query(line, previous, previous_answer)
                answer = _ask(qa, line, previous, args.top_k, previous_answer, args)
            except QuestionError as exc:
                print(f"Kesalahan: {message(exc)}")
                continue
            _print_answer(qa, answer, False, None)
            previous, previous_answer = (f"{context} {line}" if context else line), answer.text
    finally:
        if readline is not None:
            with contextlib.suppress(OSError):
                history.parent.mkdir(parents=True, exist_ok=True)
                readline.set_history_length(1000)
                readline.write_history_file(history)
    return 0


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # text that cannot be encoded must not end the program
        with contextlib.suppress(AttributeError):
            stream.reconfigure(errors="replace")  # type: ignore[union-attr]
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except QAError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"error": message(exc), "kind": type(exc).__name__}, ensure_ascii=False))
        print(f"Kesalahan: {message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: stop quietly, with the shell's code for SIGINT
        return 130
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more, with the shell's code for SIGPIPE
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit's flush
        return 141
