"""Fetching a news page by URL, safely enough to run on a server that users can reach.

A user-supplied URL is a request the server makes on the user's behalf, so it must not become a way
into the server's own network: only http and https, every host name is resolved and each of its
addresses checked (private, loopback, link-local and other non-global addresses are refused unless
``allow_private=True``), the connection goes to the address that was checked (no second DNS lookup
an attacker could answer differently), every redirect is checked again, and time and size are capped.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from urllib.parse import urljoin, urlsplit

from .errors import ArticleError, FetchError
from .text import MAX_ARTICLE_BYTES, html_to_text

TIMEOUT_S = 15.0  # the whole fetch, redirects included
MAX_PAGE_BYTES = MAX_ARTICLE_BYTES
MAX_REDIRECTS = 5
HTML_TYPES = ("text/html", "application/xhtml+xml")
USER_AGENT = "tanya-artikel/0.1 (+https://pypi.org/project/tanya-artikel/)"
_CHUNK = 64 * 1024


def _refused(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for addresses outside the public internet (private, loopback, link-local, multicast, ...)."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
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


def fetch_html(url: str, *, allow_private: bool = False, timeout: float = TIMEOUT_S,
               max_bytes: int = MAX_PAGE_BYTES, max_redirects: int = MAX_REDIRECTS) -> tuple[str, str]:
    """``(final_url, html)`` of a web page; raises :class:`FetchError` with a reason code."""
    import urllib3

    deadline = time.monotonic() + timeout
    for _ in range(max_redirects + 1):
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"not a web address: {url[:200]!r} (use http:// or https://)", "bad_url")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise FetchError(f"bad port in {url[:200]!r}", "bad_url") from exc
        host = parts.hostname
        ip = _resolve(host, port, allow_private)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(f"{host} did not answer within {timeout:g} s", "unreachable")
        limit = urllib3.Timeout(connect=min(remaining, 10.0), read=remaining)
        pool: urllib3.HTTPConnectionPool
        if parts.scheme == "https":  # TLS name checks against the host name, not the address
            pool = urllib3.HTTPSConnectionPool(ip, port, timeout=limit, retries=False, server_hostname=host,
                                               assert_hostname=host, cert_reqs="CERT_REQUIRED")
        else:
            pool = urllib3.HTTPConnectionPool(ip, port, timeout=limit, retries=False)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": USER_AGENT,
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
                        if time.monotonic() > deadline:
                            raise FetchError(f"{host} was too slow: no full page within {timeout:g} s",
                                             "unreachable")
                finally:
                    response.release_conn()
        except urllib3.exceptions.HTTPError as exc:
            raise FetchError(f"cannot reach {host} ({type(exc).__name__}: {exc})", "unreachable") from exc
        return url, _decode(bytes(body), response.headers.get("Content-Type", ""), max_bytes)
    raise FetchError(f"more than {max_redirects} redirects starting from the address given", "redirects")


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
