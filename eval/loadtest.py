"""Load test: concurrent gradio_client users against a running app (loopback only, bounded in time).

    python app.py &                       # in another terminal
    python eval/loadtest.py --url http://127.0.0.1:7860/ --users 20 --seconds 60

Reports requests served, failures, latency p50/p95/max and the app's resident memory (read from
/proc for the process listening on the port, when it runs on this machine) right after start-up,
after a warm-up round (every user's first request, which allocates the models' working memory in
the worker threads), and at the end; growth is reported from the warm-up figure, so it shows leaks.

    python eval/loadtest.py --uploads 14 --kb 60     # memory with many indexed articles

``--uploads N`` instead pastes N distinct articles of about ``--kb`` KB, one after another, the way the
page does (through the queue, as a browser session), and prints the app's RSS before and after, and
its peak (VmHWM).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
from procstatus import status_mb

QUESTIONS = [json.loads(line)["question"] for line in
             (Path(__file__).resolve().parent / "pairs.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def server_rss_mb(port: int, field: str = "VmRSS") -> float | None:
    """RSS (or another /proc status ``field``, e.g. VmHWM) of the process listening on ``port``, in MB
    (Linux; None if it cannot be found)."""
    try:
        out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, timeout=5).stdout
        return status_mb(field, int(out.split("pid=")[1].split(",")[0]))
    except (OSError, IndexError, KeyError, ValueError, subprocess.SubprocessError):
        return None


def synthetic_article(seed: int, kb: int) -> str:
    """A distinct news-like article of about ``kb`` KB (sentences of the bundled article, reshuffled and
    numbered, so every upload is really indexed)."""
    from qa.chunking import split_sentences
    from qa.settings import DEFAULT_ARTICLE

    text = DEFAULT_ARTICLE.read_text(encoding="utf-8")
    sentences = [text[a:b].strip() for a, b in split_sentences(text) if text[a:b].strip()]
    rng, out, size = random.Random(seed), [f"Artikel uji {seed}."], 0
    while size < kb * 1024:
        line = f"{rng.choice(sentences)} (catatan {seed}-{len(out)})"
        out.append(line)
        size += len(line.encode("utf-8")) + 1
    return "\n".join(out)


def page_event(url: str, api_name: str, data: list, timeout: float = 600.0, session: str | None = None,
               headers: dict[str, str] | None = None) -> list:
    """Run one of the page's own events through the queue, as the page does (/queue/join by fn_index,
    in ``session`` or a fresh one), and return its final outputs (session state stays on the server)."""
    import urllib.request

    config = json.loads(urllib.request.urlopen(url + "config", timeout=30).read())
    fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)
    session = session or uuid.uuid4().hex
    body = json.dumps({"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None,
                       "trigger_id": None}).encode()
    join = urllib.request.Request(url + "gradio_api/queue/join", data=body,
                                  headers={"content-type": "application/json", **(headers or {})})
    urllib.request.urlopen(join, timeout=30).read()
    outputs: list = []
    with urllib.request.urlopen(f"{url}gradio_api/queue/data?session_hash={session}", timeout=timeout) as stream:
        for raw in stream:
            line = raw.decode("utf-8").strip()
            if not line.startswith("data:"):
                continue
            msg = json.loads(line[5:])
            outputs = (msg.get("output") or {}).get("data") or outputs
            if msg.get("msg") == "process_completed":
                break
    return outputs


def measure_uploads(url: str, port: int, uploads: int, kb: int) -> dict:
    before = server_rss_mb(port)
    t0, statuses, each = time.time(), [], []
    for i in range(uploads):
        outputs = page_event(url, "paste", [synthetic_article(int(t0) * 1000 + i, kb), ""])
        statuses.append(str(outputs[1]) if len(outputs) > 1 else "")
        each.append(server_rss_mb(port))
    after, peak = server_rss_mb(port), server_rss_mb(port, "VmHWM")
    failed = [s for s in statuses if "siap" not in s]
    return {"uploads": uploads, "kb_each": kb, "seconds": round(time.time() - t0, 1),
            "rss_mb": {"before": before and round(before), "after": after and round(after),
                       "peak": peak and round(peak)},
            "rss_after_each_mb": [x and round(x) for x in each],
            "rss_growth_mb": round(after - before) if before and after else None,
            "failures": len(failed), "failure_examples": failed[:3]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:7860/")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--max-requests", type=int, default=5000, help="stop after this many requests in total")
    ap.add_argument("--warmup", type=int, default=2, help="requests per user before memory is measured (default 2)")
    ap.add_argument("--json", type=Path, help="write the figures as JSON")
    ap.add_argument("--uploads", type=int, default=0, help="instead: paste this many distinct articles, print RSS")
    ap.add_argument("--kb", type=int, default=60, help="size of each pasted article in KB (default 60)")
    args = ap.parse_args(argv)
    host = urlparse(args.url).hostname or ""
    if host not in ("127.0.0.1", "localhost", "::1"):
        print("error: the load test only targets loopback addresses", file=sys.stderr)
        return 2
    port = urlparse(args.url).port or 80
    if args.uploads:
        figures = measure_uploads(args.url.rstrip("/") + "/", port, args.uploads, args.kb)
        print(json.dumps(figures, indent=2, ensure_ascii=False))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        return 0 if not figures["failures"] else 1
    from gradio_client import Client

    rss_idle = server_rss_mb(port)
    clients = [Client(args.url, verbose=False) for _ in range(args.users)]
    failures: list[str] = []

    def warm(client: Client, seed: int) -> None:
        for question in random.Random(-seed).sample(QUESTIONS, args.warmup):
            try:
                client.predict(question, api_name="/chat")
            except Exception as exc:  # noqa: BLE001 - counted like any other failure
                failures.append(f"warm-up: {type(exc).__name__}: {exc}"[:200])

    warmers = [threading.Thread(target=warm, args=(c, i)) for i, c in enumerate(clients)]
    for t in warmers:
        t.start()
    for t in warmers:
        t.join()
    rss_start = server_rss_mb(port)
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.time() + args.seconds

    def user(seed: int) -> None:
        rng = random.Random(seed)
        client = clients[seed]
        while time.time() < stop_at:
            with lock:
                if len(latencies) + len(failures) >= args.max_requests:
                    return
            question = rng.choice(QUESTIONS)
            t0 = time.perf_counter()
            try:
                reply = client.predict(question, api_name="/chat")
                ok = isinstance(reply, str) and reply.strip() != ""
            except Exception as exc:  # noqa: BLE001 - every failure counts, whatever its type
                ok, reply = False, f"{type(exc).__name__}: {exc}"
            with lock:
                (latencies.append(time.perf_counter() - t0) if ok else failures.append(str(reply)[:200]))

    threads = [threading.Thread(target=user, args=(i,)) for i in range(args.users)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    rss_end = server_rss_mb(port)
    lat = np.array(latencies) * 1000 if latencies else np.zeros(1)
    report = {
        "users": args.users, "seconds": round(elapsed, 1), "served": len(latencies), "failures": len(failures),
        "throughput_rps": round(len(latencies) / elapsed, 2),
        "latency_ms": {"p50": round(float(np.percentile(lat, 50))), "p95": round(float(np.percentile(lat, 95))),
                       "max": round(float(lat.max()))},
        "rss_mb": {"idle": rss_idle and round(rss_idle), "after_warmup": rss_start and round(rss_start),
                   "end": rss_end and round(rss_end)},
        "rss_growth_pct": round(100 * (rss_end - rss_start) / rss_start, 1) if rss_start and rss_end else None,
        "failure_examples": failures[:5],
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
