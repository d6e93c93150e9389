"""The HTTP guards in front of the Gradio page (ASGI middleware) and the upload folder's upkeep.

Gradio's upload route stores files before any event sees them, and its named API routes reach every
event: these guards bound uploads per request and per client, record which client stored each file,
let only the documented ``/chat`` endpoint answer, and turn malformed calls into clear 4xx answers.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_FILES_PER_UPLOAD = 1
UPLOAD_BYTES_PER_CLIENT = 40 * 1024 * 1024  # per client address in any UPLOAD_WINDOW_S
UPLOAD_WINDOW_S = 600.0
#: The only endpoint callable through the HTTP API (``/gradio_api/call/<name>``).
PUBLIC_API = frozenset({"chat"})
#: Uploads that no event handled (posted to the upload route directly) are deleted after this age.
UPLOAD_MAX_AGE_S = 600


def upload_root() -> Path:
    """Where the upload route stores files (gradio's temporary directory)."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()).resolve()


def remove_upload(path: Path, root: Path) -> None:
    """Delete an uploaded file and the folder the upload route made for it (unless another file is in it)."""
    path.unlink(missing_ok=True)
    parent = path.parent
    if parent != root and parent.is_relative_to(root):
        with contextlib.suppress(OSError):
            parent.rmdir()


def sweep_uploads(root: Path, max_age_s: float) -> int:
    """Delete uploads older than ``max_age_s`` that no event handled; returns how many entries went."""
    removed, now = 0, time.time()
    for entry in root.iterdir() if root.is_dir() else []:
        try:
            if now - entry.lstat().st_mtime < max_age_s:
                continue
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
            removed += 1
        except OSError:
            continue
    return removed


async def read_body(receive: Any, limit: int) -> bytes | None:
    """The whole request body, or None when it exceeds ``limit`` bytes or the client left."""
    body = bytearray()
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            return None
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body"):
            return bytes(body)


def replay(body: bytes, receive: Any) -> Callable[[], Any]:
    """A ``receive`` that hands the app the body read already, then the client's further messages."""
    sent = False

    async def receive_again() -> dict:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_again


async def send_json(send: Any, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


CLIENT_COOKIE = "tanya_client"


def client_id(cookie_header: str | None, address: str | None) -> str:
    """Who a request comes from: the browser's own cookie (set with the page), else its address."""
    for part in (cookie_header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == CLIENT_COOKIE and re.fullmatch(r"[0-9a-f]{32}", value):
            return value
    return f"address:{address or '?'}"


class UploadOwners:
    """Which client stored each upload: an upload is read only for the client that sent it, so a
    session cannot take another's file by naming its path."""

    def __init__(self) -> None:
        self._owners: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def add(self, path: str, owner: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._owners = {p: o for p, o in self._owners.items() if now - o[1] < 2 * UPLOAD_WINDOW_S}
            self._owners[str(Path(path).resolve())] = (owner, now)

    def owns(self, path: Path, owner: str) -> bool:
        with self._lock:
            return self._owners.get(str(path), ("", 0.0))[0] == owner


def _headers(scope: dict) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in scope.get("headers", [])}


class UploadLimits:
    """ASGI middleware guarding the upload route: bounds per request and per client, and owners.

    The route stores files before any event sees them, so it is limited here: one file of at most
    ``MAX_UPLOAD_BYTES`` per request (the page sends one), and ``UPLOAD_BYTES_PER_CLIENT`` per client
    address in any ``UPLOAD_WINDOW_S`` seconds (refusals are 413 / 429 with an Indonesian message).
    The page gets a random client cookie, and each stored file is recorded in ``owners`` under the
    client that sent it.
    """

    ROUTE = re.compile(r"/gradio_api/upload/?$")
    MAX_REQUEST_BYTES = MAX_UPLOAD_BYTES + 64 * 1024  # the file and its multipart envelope

    def __init__(self, app: Any, owners: UploadOwners | None = None) -> None:
        self.app = app
        self.owners = owners or UploadOwners()
        self.sent: dict[str, list[tuple[float, int]]] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and scope.get("method") == "GET" and scope.get("path", "/") == "/":
            await self.app(scope, receive, self._with_cookie(scope, send))
            return
        if not (scope.get("type") == "http" and scope.get("method") == "POST"
                and self.ROUTE.search(scope.get("path", ""))):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, self.MAX_REQUEST_BYTES)
        if body is None:
            await send_json(send, 413, "Berkas terlalu besar (maksimal 5 MB).")
            return
        if body.count(b'filename="') > MAX_FILES_PER_UPLOAD:
            await send_json(send, 413, "Unggah satu berkas setiap kali.")
            return
        client = (scope.get("client") or ("?", 0))[0]
        if not self._allow(client, len(body)):
            await send_json(send, 429, "Terlalu banyak unggahan. Coba lagi beberapa menit lagi.")
            return
        owner = client_id(_headers(scope).get(b"cookie", b"").decode("latin-1"), client)
        await self.app(scope, replay(body, receive), self._recording(send, owner))

    def _recording(self, send: Any, owner: str) -> Callable[[dict], Any]:
        """A ``send`` that records the owner of every path in a successful upload's answer."""
        state: dict[str, Any] = {"status": 0, "body": b""}

        async def send_and_record(message: dict) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            elif message["type"] == "http.response.body" and state["status"] == 200:
                state["body"] += message.get("body", b"")
                if not message.get("more_body"):
                    with contextlib.suppress(ValueError, TypeError):
                        for path in json.loads(state["body"]):
                            self.owners.add(str(path), owner)
            await send(message)

        return send_and_record

    @staticmethod
    def _with_cookie(scope: dict, send: Any) -> Callable[[dict], Any]:
        """A ``send`` that gives a browser without one its random client cookie with the page."""
        has = not client_id(_headers(scope).get(b"cookie", b"").decode("latin-1"), None).startswith("address:")

        async def send_with_cookie(message: dict) -> None:
            if message["type"] == "http.response.start" and not has:
                cookie = f"{CLIENT_COOKIE}={uuid.uuid4().hex}; Path=/; HttpOnly; SameSite=Strict"
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
            await send(message)

        return send_with_cookie

    def _allow(self, client: str, size: int) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [(t, n) for t, n in self.sent.get(client, []) if now - t < UPLOAD_WINDOW_S]
            if sum(n for _, n in recent) + size > UPLOAD_BYTES_PER_CLIENT:
                self.sent[client] = recent
                return False
            self.sent[client] = recent + [(now, size)]
            return True


class OnlyPublicApi:
    """ASGI middleware: of the HTTP API routes, only the documented endpoints (``PUBLIC_API``) answer,
    and malformed calls get a clear 4xx instead of a server error.

    The page itself talks to the queue (``/gradio_api/queue/join``), where every event keeps its
    concurrency limit; the named routes would otherwise reach the page's private events too. A join
    for an event that does not exist is a 404 (gradio answers 500 with a traceback in its log), and
    ``/chat`` called with only the question gets the empty previous question it defaults to.
    """

    ROUTE = re.compile(r"/gradio_api/(?:call/v2|call|run|api)/([^/]+)/?$")
    JOIN = re.compile(r"/gradio_api/queue/join/?$")
    MAX_EVENT_BYTES = 2 * MAX_UPLOAD_BYTES  # a pasted article travels in its event's data, JSON-escaped

    def __init__(self, app: Any, events: frozenset[int] = frozenset()) -> None:
        self.app, self.events = app, events

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        match = self.ROUTE.search(path)
        # run/predict (by fn_index) stays: api_open=False refuses it for every queued event
        if match and match.group(1) not in PUBLIC_API | {"predict"}:
            await send_json(send, 404, "Not Found")
            return
        chat = bool(match) and match.group(1) == "chat"  # type: ignore[union-attr]
        if not (chat or self.JOIN.search(path)):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive, self.MAX_EVENT_BYTES)
        if body is None:
            await send_json(send, 413, "Permintaan terlalu besar.")
            return
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict) or not isinstance(payload.get("data", []), list):
                raise ValueError("not an object with a data list")
        except (ValueError, RecursionError):
            await send_json(send, 400, "Permintaan tidak valid: kirim JSON {\"data\": [...]}.")
            return
        if not chat and payload.get("fn_index") not in self.events:
            await send_json(send, 404, "Acara tidak dikenal.")
            return
        if chat:
            data = payload.get("data") or []
            if not 1 <= len(data) <= 2:
                await send_json(send, 422, "Kirim pertanyaan, dan bila perlu pertanyaan sebelumnya: "
                                           "{\"data\": [\"pertanyaan\", \"pertanyaan sebelumnya\"]}.")
                return
            payload["data"] = [*data, ""][:2]
            body = json.dumps(payload).encode()
            headers = [(k, v) for k, v in scope.get("headers", []) if k.lower() != b"content-length"]
            scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        await self.app(scope, replay(body, receive), send)


def private_upload_dir() -> Path | None:
    """Uploads land in a private directory of ours, removed when the app stops (None: the user chose one)."""
    if os.environ.get("GRADIO_TEMP_DIR"):
        return None
    path = Path(tempfile.mkdtemp(prefix="tanya-artikel-uploads-"))
    os.environ["GRADIO_TEMP_DIR"] = str(path)
    atexit.register(shutil.rmtree, path, True)
    return path


def sweep_forever(root: Path, interval_s: float = 60.0) -> None:
    while True:
        time.sleep(interval_s)
        sweep_uploads(root, UPLOAD_MAX_AGE_S)
