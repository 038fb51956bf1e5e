"""Fetch one URL without opening a way into the host's network.

The host name is resolved once, every address is checked (loopback, private, link-local, metadata and
other non-public ranges are refused unless allowed), and the connection goes to a checked address with
the Host header and TLS server name of the URL, so a second DNS answer cannot swap in another address.
Redirects are followed here, each hop checked the same way. Size and total time are bounded."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from ..errors import InputError

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "counterpoint/0.1"
FETCH_ERRORS = (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError, httpcore.ProxyError)
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, RFC 6052 and RFC 8215).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SizeCheck = Callable[[int], None]


@dataclass
class Fetched:
    """What a URL served: the final URL after redirects, its content type, declared charset and body."""

    url: str
    content_type: str
    data: bytes
    charset: str = ""


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order (an IP literal is its own address)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _resolve_by(host: str, port: int, deadline: float) -> list[str]:
    """`resolve`, given up at the deadline (the system resolver has no timeout to set); a lookup
    that hangs ends in its own daemon thread, and its answer is dropped."""
    outcome: list[list[str] | BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(resolve(host, port))
        except BaseException as exc:  # handed to the caller's thread, raised there as itself
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="counterpoint-dns", daemon=True).start()
    if not done.wait(max(deadline - time.monotonic(), 0.0)):
        raise TimeoutError(host)
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(address: str) -> str | None:
    """Why connecting to `address` could reach the host's own network, or None for a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    # The embedded IPv4 address first: it is where the connection really goes.
    for candidate in (_embedded_ipv4(ip), ip):
        if candidate is None:
            continue
        if candidate.is_loopback:
            return "a loopback address"
        if candidate.is_link_local:
            return "a link-local address (where cloud metadata services live)"
        if candidate.is_unspecified:
            return "an unspecified address"
        if candidate.is_multicast:
            return "a multicast address"
        if candidate.is_private:
            return "a private address"
        if not candidate.is_global:
            return "not a public address"
    return None


def _check_addresses(url: str, host: str, addresses: list[str], allow_private: bool) -> None:
    """Refuse the URL when any address of its host is not public (one bad answer is enough)."""
    if allow_private:
        return
    for address in addresses:
        why = refusal(address)
        if why:
            where = f"{host} is {why}" if address == host else f"{host} resolves to {address}, {why}"
            raise InputError(
                f"cannot fetch {url}: {where}, so it is refused (set COUNTERPOINT_ALLOW_PRIVATE_URLS=true "
                "to allow addresses on this machine or its network)"
            )


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the fetch's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner, self._deadline = inner, deadline

    def _left(self, timeout: float | None, error: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise error("the total time for this URL ran out")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        left = self._left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, left), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to the checked addresses whatever host name httpcore asks for (the URL's, which it
    still uses for the Host header and TLS), and checks the peer of the connection it got."""

    def __init__(self, addresses: list[str], deadline: float, allow_private: bool) -> None:
        self._addresses, self._deadline, self._allow = addresses, deadline, allow_private
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        error: Exception = httpcore.ConnectError(f"no address to connect to for {host}")
        for address in self._addresses:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise httpcore.ConnectTimeout("the total time for this URL ran out")
            wait = left if timeout is None else min(timeout, left)
            try:
                stream = self._inner.connect_tcp(address, port, wait, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            peer = stream.get_extra_info("server_addr")
            if not self._allow and (not peer or refusal(str(peer[0]))):
                stream.close()
                raise httpcore.ConnectError(f"the connection reached {peer!r}, which is not public")
            return _DeadlineStream(stream, self._deadline)
        raise error

    def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: Any = None) -> Any:
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _target(url: str) -> httpx.URL:
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise InputError(f"{url}: not a valid URL ({exc})") from None
    if target.scheme not in ("http", "https"):
        raise InputError(f"{url}: only http:// and https:// URLs can be fetched")
    if not target.host:
        raise InputError(f"{url}: the URL names no host")
    if target.userinfo:
        raise InputError(f"{url}: URLs with a user name or password are not fetched")
    return target


def _get(
    target: httpx.URL, addresses: list[str], deadline: float, check_size: SizeCheck, allow_private: bool
) -> tuple[int, dict[str, str], bytes]:
    """One GET: status, headers (lower-case names) and the body, which `check_size` may cut short."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ConnectTimeout("the total time for this URL ran out")
    backend = _PinnedBackend(addresses, deadline, allow_private)
    # httpcore adds the Host header from the URL: the name, not the pinned address.
    headers = [
        (b"User-Agent", USER_AGENT.encode()),
        (b"Accept", b"text/html, application/xhtml+xml, application/pdf, text/plain;q=0.9, */*;q=0.5"),
        (b"Accept-Encoding", b"identity"),  # no compressed bodies: the size limit counts what is stored
    ]
    timeouts = {"connect": left, "read": left, "write": left, "pool": left}
    with (
        httpcore.ConnectionPool(network_backend=backend, max_connections=1, retries=0) as pool,
        pool.stream("GET", str(target), headers=headers, extensions={"timeout": timeouts}) as response,
    ):
        found = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers}
        if response.status in REDIRECTS or response.status >= 400:
            return response.status, found, b""
        declared = found.get("content-length", "").strip()
        if declared.isdigit():
            check_size(int(declared))  # over the limit: refused before the body is read
        body = bytearray()
        for block in response.iter_stream():
            body += block
            check_size(len(body))
        return response.status, found, bytes(body)


def content_type(header: str) -> tuple[str, str]:
    """The media type of a Content-Type header, lower-case, and its charset parameter ("" if none)."""
    kind, *params = header.split(";")
    charset = ""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip("\"'").strip()
    return kind.strip().lower(), charset


def fetch(url: str, *, check_size: SizeCheck, timeout_s: float, allow_private: bool = False) -> Fetched:
    """GET `url`, following at most MAX_REDIRECTS redirects, each to a checked public address, within
    `timeout_s` in all. `check_size(n)` raises once the body (declared or read so far) is too big."""
    deadline = time.monotonic() + timeout_s
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        target = _target(current)
        host = target.host
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            addresses = (
                [str(ipaddress.ip_address(host))] if _is_ip(host) else _resolve_by(host, port, deadline)
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise InputError(f"cannot fetch {url}: cannot resolve {host} ({exc})") from None
        except TimeoutError:
            raise InputError(
                f"cannot fetch {url}: resolving {host} took longer than {timeout_s:g} s"
            ) from None
        _check_addresses(url, host, addresses, allow_private)
        try:
            status, headers, data = _get(target, addresses, deadline, check_size, allow_private)
        except httpcore.TimeoutException:
            limit = (
                f"no complete answer within the total time of {timeout_s:g} s (COUNTERPOINT_URL_TIMEOUT_S)"
            )
            raise InputError(f"cannot fetch {url}: {limit}") from None
        except FETCH_ERRORS as exc:
            raise InputError(f"cannot fetch {url}: {exc or type(exc).__name__}") from None
        if status in REDIRECTS:
            location = headers.get("location", "").strip()
            if not location:
                raise InputError(f"cannot fetch {url}: HTTP {status} without a Location")
            current = str(target.join(location))
            continue
        if status >= 400:
            raise InputError(f"cannot fetch {url}: HTTP {status}")
        kind, charset = content_type(headers.get("content-type", ""))
        return Fetched(url=str(target), content_type=kind, data=data, charset=charset)
    raise InputError(f"cannot fetch {url}: more than {MAX_REDIRECTS} redirects")
