"""Fetching a news page by URL, safely enough to run on a server that users can reach.

A user-supplied URL is a request the server makes on the user's behalf, so it must not become a way
into the server's own network: only http and https, every host name is resolved and each of its
addresses checked (private, loopback, link-local and other non-global addresses are refused unless
``allow_private=True``), the connection goes to the address that was checked (no second DNS lookup
an attacker could answer differently), every redirect is checked again, and time and size are capped.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from .errors import ArticleError, FetchError
from .text import MAX_ARTICLE_BYTES, html_to_text

if TYPE_CHECKING:
    import urllib3

TIMEOUT_S = 15.0  # the whole fetch, redirects included
MAX_PAGE_BYTES = MAX_ARTICLE_BYTES
MAX_REDIRECTS = 5
HTML_TYPES = ("text/html", "application/xhtml+xml")
USER_AGENT = "tanya-artikel/0.1 (+https://pypi.org/project/tanya-artikel/)"
_CHUNK = 64 * 1024


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix: the last 32 bits are IPv4
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # local-use NAT64 (RFC 8215): never public


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries: mapped, compatible, translated, NAT64, 6to4, Teredo."""
    out = [v4 for v4 in (ip.ipv4_mapped, ip.sixtofour) if v4 is not None]
    if ip.teredo:
        out += list(ip.teredo)
    head = ip.packed[:12]
    if head in (bytes(12), bytes(8) + b"\xff\xff\x00\x00") or ip in _NAT64:  # ::a.b.c.d, ::ffff:0:a.b.c.d
        out.append(ipaddress.IPv4Address(ip.packed[12:]))
    return out


def _refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for addresses outside the public internet (private, loopback, link-local, multicast, ...),
    also when written as an IPv6 address that embeds a non-public IPv4 one, or deprecated site-local."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local or ip in _NAT64_LOCAL:
            return True
        if any(_refused(v4) for v4 in _embedded_ipv4(ip)):
            return True
        if ip.ipv4_mapped is not None:
            return False  # a public IPv4 address, checked just above
    return not ip.is_global or ip.is_multicast


def _resolve(host: str, port: int, allow_private: bool) -> str:
    """One address of ``host`` to connect to; refused if any of its addresses is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve host {host!r} ({exc})", "unreachable") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise FetchError(f"host {host!r} has no address", "unreachable")
    if not allow_private:
        bad = [str(ip) for ip in addresses if _refused(ip)]
        if bad:
            raise FetchError(f"refused: {host} resolves to a private or local address ({', '.join(bad)}); "
                             "only public web pages can be fetched", "refused")
    return str(addresses[0])


class _Deadline:
    """Shuts down every socket of a fetch when its time is up.

    Socket timeouts restart with every byte received, so a server that sends one byte a second
    would hold a fetch for as long as it likes; closing the sockets from a timer bounds connect,
    TLS handshake, headers and body together.
    """

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.sockets: list[socket.socket] = []
        self.expired = False
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self.sockets.append(sock)
            if self.expired:
                self._shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self.sockets:
                self._shutdown(sock)

    @staticmethod
    def _shutdown(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)

    @contextmanager
    def running(self) -> Iterator[_Deadline]:
        self._timer.start()
        try:
            yield self
        finally:
            self._timer.cancel()


def _pool(scheme: str, ip: str, port: int, host: str, timeout: urllib3.Timeout,
          deadline: _Deadline) -> urllib3.HTTPConnectionPool:
    """A one-host connection pool whose sockets the ``deadline`` can shut down."""
    import urllib3
    from urllib3.connection import HTTPConnection, HTTPSConnection

    base = HTTPSConnection if scheme == "https" else HTTPConnection

    class Watched(base):  # type: ignore[valid-type, misc]
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            deadline.watch(sock)
            return sock

    pool: urllib3.HTTPConnectionPool
    if scheme == "https":  # TLS name checks against the host name, not the address
        pool = urllib3.HTTPSConnectionPool(ip, port, timeout=timeout, retries=False, server_hostname=host,
                                           assert_hostname=host, cert_reqs="CERT_REQUIRED")
    else:
        pool = urllib3.HTTPConnectionPool(ip, port, timeout=timeout, retries=False)
    pool.ConnectionCls = Watched
    return pool


def fetch_html(url: str, *, allow_private: bool = False, timeout: float = TIMEOUT_S,
               max_bytes: int = MAX_PAGE_BYTES, max_redirects: int = MAX_REDIRECTS) -> tuple[str, str]:
    """``(final_url, html)`` of a web page; raises :class:`FetchError` with a reason code."""
    deadline = _Deadline(timeout)
    try:
        with deadline.running():
            return _fetch(url, allow_private, deadline, max_bytes, max_redirects)
    except FetchError:
        if deadline.expired:
            raise _too_slow(url, timeout) from None
        raise


def _too_slow(url: str, timeout: float) -> FetchError:
    host = urlsplit(url.strip()).hostname or url[:200]
    return FetchError(f"{host} was too slow: no full page within {timeout:g} s", "unreachable")


def _fetch(url: str, allow_private: bool, deadline: _Deadline, max_bytes: int, max_redirects: int) -> tuple[str, str]:
    import urllib3

    for _ in range(max_redirects + 1):
        try:
            parts = urlsplit(url.strip())
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:  # "http://[::1", "http://host:99999"
            raise FetchError(f"not a valid web address: {url[:200]!r}", "bad_url") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"not a web address: {url[:200]!r} (use http:// or https://)", "bad_url")
        host = parts.hostname
        ip = _resolve(host, port, allow_private)
        remaining = deadline.remaining()
        if remaining <= 0 or deadline.expired:
            raise FetchError(f"{host} did not answer in time", "unreachable")
        limit = urllib3.Timeout(connect=min(remaining, 10.0), read=remaining)
        pool = _pool(parts.scheme, ip, port, host, limit, deadline)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Host": _host_header(parts.netloc), "User-Agent": USER_AGENT,
                   "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1", "Accept-Encoding": "identity"}
        try:
            with pool:
                response = pool.urlopen("GET", path, headers=headers, redirect=False, retries=False,
                                        preload_content=False)
                try:
                    if response.status in (301, 302, 303, 307, 308) and response.headers.get("Location"):
                        url = urljoin(url, response.headers["Location"])
                        continue
                    if response.status >= 400:
                        raise FetchError(f"{host} answered HTTP {response.status} for {url[:200]}", "unreachable")
                    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                    if kind and kind not in HTML_TYPES:
                        raise FetchError(f"{url[:200]} is {kind}, not a web page (HTML)", "not_html")
                    length = response.headers.get("Content-Length", "")
                    if length.isdigit() and int(length) > max_bytes:
                        raise _too_large(url, max_bytes)
                    body = bytearray()
                    for block in response.stream(_CHUNK):
                        body += block
                        if len(body) > max_bytes:
                            raise _too_large(url, max_bytes)
                    if deadline.expired:  # the timer cut the body short: not the whole page
                        raise FetchError(f"{host} was too slow", "unreachable")
                finally:
                    response.release_conn()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise FetchError(f"cannot reach {host} ({type(exc).__name__}: {exc})", "unreachable") from exc
        return url, _decode(bytes(body), response.headers.get("Content-Type", ""), max_bytes)
    raise FetchError(f"more than {max_redirects} redirects starting from the address given", "redirects")


def _host_header(netloc: str) -> str:
    """The Host header in ASCII: an internationalised name in its IDNA form (пример.test -> xn--e1afmkfd.test)."""
    hostport = netloc.rsplit("@", 1)[-1]
    try:
        hostport.encode("ascii")
        return hostport
    except UnicodeEncodeError:
        host, sep, port = hostport.rpartition(":") if not hostport.endswith("]") else (hostport, "", "")
        if not sep or not port.isdigit():
            host, sep, port = hostport, "", ""
        try:
            return host.encode("idna").decode("ascii") + sep + port
        except UnicodeError as exc:
            raise FetchError(f"not a valid host name: {host[:200]!r}", "bad_url") from exc


def _decode(body: bytes, content_type: str, max_bytes: int) -> str:
    """The charset the server declares, else trafilatura's detection (which also unpacks compressed bodies)."""
    from email.message import Message

    from trafilatura.utils import decode_file

    header = Message()
    header["Content-Type"] = content_type
    charset = header.get_content_charset()
    if charset:
        try:
            return body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_file(body, max_size=max_bytes)


def _too_large(url: str, max_bytes: int) -> FetchError:
    return FetchError(f"{url[:200]} is larger than {max_bytes // 2**20} MB", "too_large")


def fetch_article(url: str, *, allow_private: bool = False, timeout: float = TIMEOUT_S,
                  max_bytes: int = MAX_PAGE_BYTES) -> tuple[str | None, str]:
    """``(title, main text)`` of a news page (trafilatura removes menus, footers and comments)."""
    final_url, html = fetch_html(url, allow_private=allow_private, timeout=timeout, max_bytes=max_bytes)
    try:
        return html_to_text(html)
    except ArticleError as exc:
        raise FetchError(f"{final_url[:200]}: {exc}", exc.reason) from exc
