"""``python -m qa collection build|add|remove|list``: make and keep a collection from the command line.

``python -m qa ask --collection koleksi/ "..."`` (and ``chat``, ``retrieve``) then ask across it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from .errors import CollectionError, QAError


def collection_source(value: str) -> dict[str, Any]:
    """``--collection``: a folder or Milvus Lite ``.db`` file, or a Milvus server address."""
    return {"uri": value} if value.startswith(("http://", "https://", "tcp://")) else {"path": value}


def add_parser(sub: Any) -> None:
    col = sub.add_parser("collection", help="buat dan kelola koleksi banyak artikel",
                         description="Koleksi: banyak artikel diindeks sekali lalu ditanya bersama "
                         "(python -m qa ask --collection FOLDER ...).")
    actions = col.add_subparsers(dest="action", required=True, metavar="AKSI")

    def target(p: argparse.ArgumentParser) -> None:
        p.add_argument("collection", metavar="KOLEKSI", help="folder koleksi, berkas Milvus Lite (.db) atau alamat "
                       "server Milvus (http://host:19530)")

    def sources(p: argparse.ArgumentParser) -> None:
        p.add_argument("--jsonl", metavar="BERKAS", help="satu artikel JSON per baris: text, dan bila ada id, title, "
                       "date, url")
        p.add_argument("--file", metavar="BERKAS", nargs="+", default=[], help="berkas artikel (.txt, .md, .html)")
        p.add_argument("--url", metavar="URL", nargs="+", default=[], help="alamat halaman berita")
        p.add_argument("--date", metavar="TANGGAL", help="tanggal artikel dari --file/--url (TTTT-BB-HH)")
        p.add_argument("--allow-private", action="store_true", help="izinkan --url ke alamat jaringan lokal/privat")
        p.add_argument("--quiet", action="store_true", help="tanpa bilah kemajuan")

    build = actions.add_parser("build", help="buat koleksi (atau tambahi yang sudah ada)")
    target(build)
    sources(build)
    build.add_argument("--backend", choices=["faiss", "milvus"], default="faiss",
                       help="faiss: folder di disk lokal (bawaan); milvus: Milvus Lite (.db) atau server Milvus")
    add = actions.add_parser("add", help="tambahkan artikel ke koleksi")
    target(add)
    sources(add)
    remove = actions.add_parser("remove", help="hapus artikel dari koleksi")
    target(remove)
    remove.add_argument("ids", metavar="ID", nargs="+", help="id artikel")
    copy = actions.add_parser("copy", help="salin koleksi ke backend atau server lain (tanpa mengindeks ulang)")
    target(copy)
    copy.add_argument("target", metavar="TUJUAN", help="koleksi baru: folder, berkas Milvus Lite (.db) atau alamat "
                      "server Milvus")
    copy.add_argument("--backend", choices=["faiss", "milvus"], default="faiss", help="backend tujuan (bawaan faiss)")
    copy.add_argument("--quiet", action="store_true", help="tanpa bilah kemajuan")
    listing = actions.add_parser("list", help="daftar artikel di koleksi")
    target(listing)
    listing.add_argument("--json", action="store_true", help="cetak JSON untuk program")


def _open(args: argparse.Namespace, create: bool) -> Any:
    from .collection import Collection

    where = collection_source(args.collection)
    try:
        return Collection.open(**where)
    except CollectionError as exc:
        if not create or exc.reason != "not_collection":
            raise
    return Collection.create(backend=args.backend, **where)


def _add(col: Any, args: argparse.Namespace) -> int:
    from .cli import message

    added, duplicates, failed = 0, 0, 0
    if args.jsonl:
        report = col.add_jsonl(args.jsonl, progress=not args.quiet)
        added, duplicates = len(report.added), len(report.duplicates)
        for number, exc in report.errors:
            failed += 1
            print(f"Baris {number} dilewati: {message(exc)}", file=sys.stderr)
    for kind, items in (("file", args.file), ("url", args.url)):
        for item in items:
            size = len(col)
            try:
                if kind == "file":
                    col.add_file(item, date=args.date)
                else:
                    col.add_url(item, date=args.date, allow_private=args.allow_private)
            except QAError as exc:
                failed += 1
                print(f"{item} dilewati: {message(exc)}", file=sys.stderr)
                continue
            added, duplicates = (added + 1, duplicates) if len(col) > size else (added, duplicates + 1)
    print(f"{added} artikel ditambahkan, {duplicates} duplikat dilewati, {failed} gagal. "
          f"Koleksi: {len(col)} artikel, {col.store.passage_count()} bagian.")
    return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    if args.action in ("build", "add") and not (args.jsonl or args.file or args.url):
        raise QAError("nothing to add: give --jsonl, --file or --url")
    col = _open(args, create=args.action == "build")
    try:
        if args.action in ("build", "add"):
            return _add(col, args)
        if args.action == "copy":
            copied = col.copy_to(backend=args.backend, progress=not args.quiet, **collection_source(args.target))
            print(f"{len(copied)} artikel ({copied.store.passage_count()} bagian) disalin ke {args.target}.")
            copied.close()
            return 0
        if args.action == "remove":
            for article_id in args.ids:
                col.remove(article_id)
            print(f"{len(args.ids)} artikel dihapus. Koleksi: {len(col)} artikel.")
            return 0
        articles = col.articles()
        if args.json:
            print(json.dumps([a.__dict__ for a in articles], ensure_ascii=False, indent=2))
        else:
            print(f"{len(articles)} artikel:")
            for a in articles:
                print(f"{a.id}\t{a.date or '-'}\t{a.title or '(tanpa judul)'}")
        return 0
    finally:
        col.close()
