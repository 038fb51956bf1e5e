"""URL ingest cannot reach into the host's network: addresses are checked after DNS and after every
redirect, the connection goes to the checked address (the URL's host name stays in the Host header),
and size and total time are bounded. Only loopback traffic: other names are resolved by a stand-in."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from service.errors import InputError
from service.library import fetch as fetch_module
from service.library import load_url
from service.library.fetch import refusal
from service.settings import Settings

Handler = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Site:
    """A loopback server: `routes[path]` writes the response; every request's path and Host are kept."""

    port: int
    routes: dict[str, Handler] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def send(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Handler:
    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        for name, value in {
            "Content-Type": "text/plain",
            "Content-Length": str(len(body)),
            **(headers or {}),
        }.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(body)

    return handler


def redirect(location: str, status: int = 302) -> Handler:
    return send(status, headers={"Location": location})


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site(port=0)

    class Request(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            state.seen.append((self.path, self.headers.get("Host", "")))
            state.routes.get(self.path, send(404, b"not found"))(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Request)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Stand-in DNS: names map to the addresses given here; every lookup is counted in `asked`."""
    table: dict[str, list[str]] = {"asked": []}

    def resolve(host: str, port: int) -> list[str]:
        table["asked"].append(host)
        if host not in table:
            raise AssertionError(f"unexpected lookup of {host}")
        return table[host]

    monkeypatch.setattr(fetch_module, "resolve", resolve)
    return table


@pytest.fixture
def loopback_is_public(monkeypatch: pytest.MonkeyPatch) -> None:
    """Treat 127.0.0.1 (the test's own server) as a public address, and only that one."""
    real = fetch_module.refusal
    monkeypatch.setattr(fetch_module, "refusal", lambda a: None if a == "127.0.0.1" else real(a))


def settings_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


# --- which addresses ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.45.6.7", "loopback"),
        ("10.0.0.8", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.20", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("0.0.0.0", "unspecified"),
        ("0.12.0.1", "private"),
        ("100.64.3.4", "not a public address"),  # shared address space (carrier NAT)
        ("224.0.0.1", "multicast"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fc00::5", "private"),
        ("fd12:3456::1", "private"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:10.1.1.1", "private"),
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address: str, why: str) -> None:
    assert why in (refusal(address) or "")


@pytest.mark.parametrize("address", ["8.8.4.4", "1.0.0.1", "151.101.1.69", "2606:4700:4700::1001"])
def test_public_addresses_pass(address: str) -> None:
    assert refusal(address) is None


# --- the check, before any connection -----------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/a",
        "http://localhost:{port}/a",
        "http://[::1]:{port}/a",
        "http://0.0.0.0:{port}/a",
        "http://[::ffff:127.0.0.1]:{port}/a",
    ],
)
def test_loopback_urls_are_refused_by_default(site: Site, settings: Settings, url: str) -> None:
    site.routes["/a"] = send(200, b"Secrets of the machine.")
    with pytest.raises(
        InputError, match=r"cannot fetch .*(loopback|unspecified).*COUNTERPOINT_ALLOW_PRIVATE_URLS"
    ):
        load_url(url.format(port=site.port), settings)
    assert site.seen == []  # refused before connecting


@pytest.mark.parametrize(
    "addresses",
    [
        ["10.20.30.40"],
        ["169.254.169.254"],
        ["fd00::7"],
        ["8.8.4.4", "192.168.0.9"],
    ],  # one bad answer is enough
)
def test_a_name_that_resolves_inward_is_refused(
    dns: dict[str, list[str]], settings: Settings, no_network: list[str], addresses: list[str]
) -> None:
    dns["intranet.example"] = addresses
    with pytest.raises(InputError, match=r"intranet\.example resolves to .*refused"):
        load_url("http://intranet.example/report", settings)
    assert dns["asked"] == ["intranet.example"] and no_network == []


def test_the_setting_allows_loopback(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    site.routes["/a"] = send(200, b"A page on this machine, on purpose.")
    settings = settings_with(monkeypatch, COUNTERPOINT_ALLOW_PRIVATE_URLS="true")
    assert load_url(site.url("/a"), settings).text == "A page on this machine, on purpose."


@pytest.mark.parametrize(
    "url",
    [
        "ftp://files.example/a.txt",
        "file:///etc/hostname",
        "http://user:pw@news.example/",
        "http:///nohost",
        "gopher://x/",
    ],
)
def test_other_urls_are_refused_without_a_lookup(
    dns: dict[str, list[str]], settings: Settings, url: str
) -> None:
    with pytest.raises(InputError):
        load_url(url, settings)
    assert dns["asked"] == []


# --- the connection goes where the check said -----------------------------------------------------
def test_the_checked_address_is_connected_with_the_hosts_name(
    site: Site, dns: dict[str, list[str]], settings: Settings, loopback_is_public: None
) -> None:
    dns["news.example"] = ["127.0.0.1"]
    site.routes["/story"] = send(200, b"Checked and fetched.")
    loaded = load_url(f"http://news.example:{site.port}/story", settings)
    assert loaded.text == "Checked and fetched."
    # One lookup (no second answer can swap the address), and the server saw the name, not the IP.
    assert dns["asked"] == ["news.example"] and site.seen == [("/story", f"news.example:{site.port}")]


def test_the_peer_of_the_connection_is_checked_too(
    site: Site, dns: dict[str, list[str]], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check passes once (as if DNS had said "public"), then the connection's peer is checked.
    real = fetch_module.refusal
    calls: list[str] = []

    def first_pass(address: str) -> str | None:
        calls.append(address)
        return None if len(calls) == 1 else real(address)

    monkeypatch.setattr(fetch_module, "refusal", first_pass)
    dns["news.example"] = ["127.0.0.1"]
    site.routes["/story"] = send(200, b"Should not be read.")
    with pytest.raises(InputError, match="not public"):
        load_url(f"http://news.example:{site.port}/story", settings)
    assert calls == ["127.0.0.1", "127.0.0.1"]


@pytest.mark.parametrize(
    ("target", "name", "addresses"),
    [
        ("http://metadata.example/latest/meta-data/", "metadata.example", ["169.254.169.254"]),
        ("http://10.0.0.1/admin", "", []),
        ("http://[fd00::1]/", "", []),
        ("http://localhost:{port}/inside", "localhost", ["127.0.0.1", "::1"]),
    ],
)
def test_every_redirect_is_checked(
    site: Site,
    dns: dict[str, list[str]],
    settings: Settings,
    no_network: list[str],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    name: str,
    addresses: list[str],
) -> None:
    real = fetch_module.refusal
    # Only the first hop (news.example, really this test's server) counts as public.
    monkeypatch.setattr(
        fetch_module, "refusal", lambda a: None if a == "127.0.0.1" and len(dns["asked"]) == 1 else real(a)
    )
    dns["news.example"] = ["127.0.0.1"]
    if name:
        dns[name] = addresses
    site.routes["/moved"] = redirect(target.format(port=site.port))
    site.routes["/inside"] = send(200, b"Inside.")
    with pytest.raises(InputError, match="refused"):
        load_url(f"http://news.example:{site.port}/moved", settings)
    assert [path for path, _ in site.seen] == ["/moved"] and no_network == []


def test_redirects_are_followed_a_few_times_only(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(monkeypatch, COUNTERPOINT_ALLOW_PRIVATE_URLS="true")
    for i in range(8):
        site.routes[f"/r{i}"] = redirect(f"/r{i + 1}", status=(301, 302, 303, 307, 308)[i % 5])
    site.routes["/r5"] = send(200, b"Five hops away.")
    assert load_url(site.url("/r0"), settings).text == "Five hops away."
    site.routes["/r5"] = redirect("/r6")
    with pytest.raises(InputError, match="more than 5 redirects"):
        load_url(site.url("/r0"), settings)
    assert len(site.seen) == 6 + 6


# --- size and time ------------------------------------------------------------------------------
def drip(site: Site, interval: float, total: int) -> Handler:
    """A body sent a byte at a time, each within any per-read timeout."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/plain")
        request.send_header("Content-Length", str(total))
        request.end_headers()
        for _ in range(total):
            if site.stop.wait(interval):
                return
            try:
                request.wfile.write(b"x")
                request.wfile.flush()
            except OSError:
                return

    return handler


def endless(site: Site) -> Handler:
    """A chunked body that never ends."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/plain")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        chunk = b"Filler text that goes on. " * 400
        while not site.stop.is_set():
            try:
                request.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                return

    return handler


def test_a_declared_size_over_the_limit_is_refused_before_reading(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_with(
        monkeypatch, COUNTERPOINT_ALLOW_PRIVATE_URLS="true", COUNTERPOINT_URL_TIMEOUT_S="30"
    )
    site.routes["/huge"] = drip(site, 1.0, 50 * 1024 * 1024)  # claims 50 MB, would take a year to send
    started = time.monotonic()
    with pytest.raises(InputError, match=r"is 50\.0 MB, over the 5 MB limit"):
        load_url(site.url("/huge"), settings)
    assert time.monotonic() - started < 3


def test_an_endless_body_stops_at_the_limit(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(
        monkeypatch, COUNTERPOINT_ALLOW_PRIVATE_URLS="true", COUNTERPOINT_MAX_FILE_MB="0.5"
    )
    site.routes["/endless"] = endless(site)
    with pytest.raises(InputError, match=r"over the 0\.5 MB limit"):
        load_url(site.url("/endless"), settings)


def test_the_total_time_is_bounded_not_just_each_read(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(
        monkeypatch, COUNTERPOINT_ALLOW_PRIVATE_URLS="true", COUNTERPOINT_URL_TIMEOUT_S="1"
    )
    site.routes["/slow"] = drip(site, 0.1, 1000)  # a byte every 0.1 s: no single read ever times out
    started = time.monotonic()
    with pytest.raises(InputError, match=r"cannot fetch .*total time"):
        load_url(site.url("/slow"), settings)
    assert 0.9 < time.monotonic() - started < 3


def test_a_hanging_lookup_counts_against_the_total_time(
    monkeypatch: pytest.MonkeyPatch, no_network: list[str]
) -> None:
    settings = settings_with(monkeypatch, COUNTERPOINT_URL_TIMEOUT_S="0.5")
    release = threading.Event()

    def slow(host: str, port: int) -> list[str]:
        release.wait(10)
        return ["8.8.4.4"]

    monkeypatch.setattr(fetch_module, "resolve", slow)
    started = time.monotonic()
    try:
        with pytest.raises(InputError, match=r"resolving slow\.example took longer than 0\.5 s"):
            load_url("http://slow.example/story", settings)
    finally:
        release.set()
    assert time.monotonic() - started < 2 and no_network == []
