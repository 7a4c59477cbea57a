"""One webhook delivery attempt against real receivers.

Goal: ``send`` reports every outcome as an ``AttemptResult`` and never raises for the network:
2xx succeeds with a latency; other statuses, redirects (not followed), timeouts (read and total),
refused connections, TLS failures and failed lookups fail with a short readable error; the
receiver gets a body it can verify with the ``standardwebhooks`` package; the answer is read only
up to its limit; and the address is pinned: looked up once, every address checked, the checked
one connected to (http: ``Host`` header; https: SNI and certificate for the name).

Method: small threaded ``http.server`` receivers on 127.0.0.1 (and one with TLS, its certificate
made by the ``openssl`` command for a name no DNS knows, so only pinning can reach it); injected
resolvers; ``allow_private=True`` where the receiver is local. The refusals of private addresses
use an ``httpx.MockTransport`` that records any request, to show nothing was sent.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import standardwebhooks

from zeropools.domain import limits
from zeropools.domain.webhooks import headers, new_secret
from zeropools.workers.webhook_sender import USER_AGENT, make_client, send

SECRET = new_secret(b"\x42" * limits.WEBHOOK_SECRET_BYTES)
BODY = b'{"id":"evt_01J0000000000000000000000","object":"event","type":"trade.settled"}'
EVENT_ID = "evt_01J0000000000000000000000"
NAME = "receiver.invalid"  # .invalid never resolves (RFC 6761): reachable only through pinning


def signed() -> dict[str, str]:
    return headers([SECRET], EVENT_ID, int(time.time()), BODY)


@dataclass
class Seen:
    """What a receiver saw: one entry per request, in arrival order."""

    paths: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)


class Handler(http.server.BaseHTTPRequestHandler):
    """Answers by path: /ok, /error, /slow, /redirect, /big, /cookie, /drip."""

    seen: Seen
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.seen.paths.append(self.path)
        self.seen.headers.append({k.lower(): v for k, v in self.headers.items()})
        self.seen.bodies.append(self.rfile.read(length))
        if self.path == "/ok":
            self.answer(200, b"thanks")
        elif self.path == "/error":
            self.answer(500, b"boom")
        elif self.path == "/slow":
            time.sleep(1.5)
            self.answer(200, b"late")
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/big":
            self.answer(200, b"x" * 1_000_000)
        elif self.path == "/cookie":
            self.send_response(200)
            self.send_header("Set-Cookie", "session=partner-a; Path=/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/drip":  # a header line, one byte at a time, never finished
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(0.05)

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The sender hangs up on slow, trickling and large answers on purpose; that is no error.
        pass


@dataclass
class Receiver:
    port: int
    seen: Seen

    def url(self, path: str, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


def serve(tls: ssl.SSLContext | None = None) -> Iterator[Receiver]:
    seen = Seen()
    handler = type("BoundHandler", (Handler,), {"seen": seen})
    server = QuietServer(("127.0.0.1", 0), handler)
    if tls is not None:
        tls.sni_callback = lambda _socket, name, _context: seen.sni.append(name)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(server.server_address[1], seen)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from serve()


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for ``NAME`` (its own trust anchor), made by openssl."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", f"/CN={NAME}", "-addext", f"subjectAltName=DNS:{NAME}",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return Certificate(cert, key)


@pytest.fixture
def tls_receiver(certificate: Certificate) -> Iterator[Receiver]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert, certificate.key)
    yield from serve(context)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client() as opened:
        yield opened


Resolved = list[tuple[Any, Any, Any, Any, tuple[Any, ...]]]


def resolving(*addresses: str, calls: list[str] | None = None) -> Callable[..., Resolved]:
    """A resolver that answers every name with ``addresses`` and records what it was asked."""

    def resolve(host: str, port: int, family: int = 0, type: int = 0) -> Resolved:
        if calls is not None:
            calls.append(host)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    return resolve


def failing_lookup(host: str, port: int, family: int = 0, type: int = 0) -> Resolved:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


def recording_client(requests: list[httpx.Request]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(b"recorded"))

    return httpx.Client(transport=httpx.MockTransport(handler))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# Outcomes


def test_a_2xx_answer_succeeds_with_its_latency_and_the_first_bytes(
    receiver: Receiver, client: httpx.Client
) -> None:
    result = send(receiver.url("/ok"), signed(), BODY, client=client, allow_private=True)
    assert result.succeeded and result.error is None
    assert result.status_code == 200
    assert 0 <= result.latency_ms < 5000
    assert result.response_body == b"thanks"


def test_the_receiver_can_verify_what_it_got_with_standard_webhooks(
    receiver: Receiver, client: httpx.Client
) -> None:
    send(receiver.url("/ok"), signed(), BODY, client=client, allow_private=True)
    (got,) = receiver.seen.headers
    assert standardwebhooks.Webhook(SECRET).verify(receiver.seen.bodies[0], got)["id"] == EVENT_ID
    assert got["user-agent"] == USER_AGENT
    assert got["content-type"] == "application/json"
    assert got["accept-encoding"] == "identity"


def test_a_500_answer_fails_with_its_status(receiver: Receiver, client: httpx.Client) -> None:
    result = send(receiver.url("/error"), signed(), BODY, client=client, allow_private=True)
    assert not result.succeeded
    assert result.status_code == 500
    assert result.error == "HTTP 500 Internal Server Error"
    assert result.response_body == b"boom"


def test_a_redirect_fails_and_is_not_followed(receiver: Receiver, client: httpx.Client) -> None:
    result = send(receiver.url("/redirect"), signed(), BODY, client=client, allow_private=True)
    assert not result.succeeded
    assert result.status_code == 302
    assert result.error == "HTTP 302: redirects are not followed (Location: /ok)"
    assert receiver.seen.paths == ["/redirect"]


def test_a_receiver_slower_than_the_read_timeout_fails_with_a_timeout(receiver: Receiver) -> None:
    with make_client(read_timeout_s=0.3) as client:
        result = send(receiver.url("/slow"), signed(), BODY, client=client, allow_private=True)
    assert not result.succeeded
    assert result.status_code is None
    assert result.error == "read timeout: no answer"
    assert result.latency_ms >= 300


def test_a_receiver_that_trickles_its_answer_is_cut_at_the_total_timeout(
    receiver: Receiver,
) -> None:
    # Each byte arrives well within the read timeout; only the total deadline stops it.
    with make_client(read_timeout_s=1.0, total_timeout_s=0.6) as client:
        result = send(receiver.url("/drip"), signed(), BODY, client=client, allow_private=True)
    assert not result.succeeded
    assert result.error == "total timeout: no complete answer within 0.6 s"
    assert result.latency_ms >= 600


def test_a_closed_port_fails_with_connection_refused(client: httpx.Client) -> None:
    url = f"http://127.0.0.1:{closed_port()}/hook"
    result = send(url, signed(), BODY, client=client, allow_private=True)
    assert not result.succeeded
    assert result.status_code is None
    assert result.error == "connection refused"


def test_a_failed_lookup_fails_with_a_readable_error(client: httpx.Client) -> None:
    result = send(
        "https://nowhere.example.com/hook",
        signed(),
        BODY,
        client=client,
        resolve=failing_lookup,
        allow_private=False,
    )
    assert not result.succeeded
    assert result.error == "DNS lookup of nowhere.example.com failed: Name or service not known"


def test_a_malformed_url_fails_instead_of_raising(client: httpx.Client) -> None:
    for url in ("ftp://example.com/", "http://user:pw@127.0.0.1/", "http://[::1/"):
        result = send(url, signed(), BODY, client=client, allow_private=True)
        assert not result.succeeded
        assert result.error is not None and result.error.startswith("invalid URL"), url


def test_only_the_first_bytes_of_a_large_answer_are_kept(
    receiver: Receiver, client: httpx.Client
) -> None:
    result = send(receiver.url("/big"), signed(), BODY, client=client, allow_private=True)
    assert result.succeeded
    assert result.response_body == b"x" * limits.WEBHOOK_RESPONSE_BODY_BYTES_MAX


def test_one_endpoints_cookies_never_reach_the_next_request(
    receiver: Receiver, client: httpx.Client
) -> None:
    send(receiver.url("/cookie"), signed(), BODY, client=client, allow_private=True)
    send(receiver.url("/ok"), signed(), BODY, client=client, allow_private=True)
    assert "cookie" not in receiver.seen.headers[1]


# Pinning


def test_a_name_is_looked_up_once_and_its_address_connected_to_with_the_name_as_host(
    receiver: Receiver, client: httpx.Client
) -> None:
    calls: list[str] = []
    result = send(
        receiver.url("/ok", host=NAME),
        signed(),
        BODY,
        client=client,
        resolve=resolving("127.0.0.1", calls=calls),
        allow_private=True,
    )
    assert result.succeeded, result.error
    assert calls == [NAME]
    assert receiver.seen.headers[0]["host"] == f"{NAME}:{receiver.port}"


def test_https_to_a_pinned_address_verifies_the_certificate_of_the_name(
    tls_receiver: Receiver, certificate: Certificate
) -> None:
    trusted = ssl.create_default_context(cafile=str(certificate.cert))
    with make_client(ssl_context=trusted) as client:
        result = send(
            tls_receiver.url("/ok", host=NAME, scheme="https"),
            signed(),
            BODY,
            client=client,
            resolve=resolving("127.0.0.1"),
            allow_private=True,
        )
    assert result.succeeded, result.error
    assert tls_receiver.seen.sni == [NAME]
    assert tls_receiver.seen.headers[0]["host"] == f"{NAME}:{tls_receiver.port}"


def test_https_fails_when_the_certificate_is_not_for_the_name(
    tls_receiver: Receiver, certificate: Certificate
) -> None:
    trusted = ssl.create_default_context(cafile=str(certificate.cert))
    with make_client(ssl_context=trusted) as client:
        result = send(
            tls_receiver.url("/ok", host="impostor.invalid", scheme="https"),
            signed(),
            BODY,
            client=client,
            resolve=resolving("127.0.0.1"),
            allow_private=True,
        )
    assert not result.succeeded
    assert result.error is not None
    assert result.error.startswith("TLS certificate not accepted: Hostname mismatch")
    assert tls_receiver.seen.paths == []


def test_https_fails_when_the_certificate_is_not_trusted(tls_receiver: Receiver) -> None:
    with make_client() as client:  # the system's CAs: our test certificate is not among them
        result = send(
            tls_receiver.url("/ok", host=NAME, scheme="https"),
            signed(),
            BODY,
            client=client,
            resolve=resolving("127.0.0.1"),
            allow_private=True,
        )
    assert not result.succeeded
    assert result.error is not None and result.error.startswith("TLS certificate not accepted")


@pytest.mark.parametrize(
    "addresses",
    [
        ("10.0.0.5",),
        ("127.0.0.1",),
        ("169.254.169.254",),
        ("::ffff:192.168.1.1",),
        ("fd00::1",),
        ("93.184.215.14", "10.0.0.5"),  # one public, one private: still refused
    ],
)
def test_a_public_looking_name_resolving_to_a_private_address_is_refused_before_connecting(
    addresses: tuple[str, ...],
) -> None:
    requests: list[httpx.Request] = []
    with recording_client(requests) as client:
        result = send(
            "https://hooks.partner.example/webhooks",
            signed(),
            BODY,
            client=client,
            resolve=resolving(*addresses),
            allow_private=False,
        )
    assert not result.succeeded
    assert result.status_code is None
    assert result.error is not None
    assert result.error.startswith("hooks.partner.example resolves to ")
    assert result.error.endswith("which is not a public address: not sent")
    assert requests == []


def test_a_private_ip_literal_is_refused_before_connecting_without_a_lookup() -> None:
    requests: list[httpx.Request] = []
    calls: list[str] = []
    with recording_client(requests) as client:
        result = send(
            "http://169.254.169.254/latest/meta-data/",
            signed(),
            BODY,
            client=client,
            resolve=resolving("8.8.8.8", calls=calls),
            allow_private=False,
        )
    assert result.error == "169.254.169.254 is not a public address: not sent"
    assert requests == [] and calls == []


def test_a_public_name_is_sent_to_its_checked_address_with_name_as_host_and_sni() -> None:
    requests: list[httpx.Request] = []
    with recording_client(requests) as client:
        result = send(
            "https://hooks.partner.example:8443/webhooks?v=1",
            signed(),
            BODY,
            client=client,
            resolve=resolving("2606:4700:4700::1111", "93.184.215.14"),
            allow_private=False,
        )
    assert result.succeeded
    (request,) = requests
    assert str(request.url) == "https://[2606:4700:4700::1111]:8443/webhooks?v=1"
    assert request.headers["host"] == "hooks.partner.example:8443"
    assert request.extensions["sni_hostname"] == "hooks.partner.example"
    assert request.content == BODY


def test_the_client_never_resolves_a_name_itself(receiver: Receiver, client: httpx.Client) -> None:
    # A request that send() did not pin would be a second lookup: the client refuses it.
    with pytest.raises(httpx.ConnectError, match="not an IP address"):
        client.post(f"http://localhost:{receiver.port}/ok", content=BODY)
    assert receiver.seen.paths == []
