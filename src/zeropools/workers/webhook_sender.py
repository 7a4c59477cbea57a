"""One webhook delivery attempt over HTTP: the I/O half of webhook delivery.

``send`` POSTs one signed event (``zeropools.domain.webhooks.headers``) to one endpoint and
reports what happened as an ``AttemptResult``. It never raises for what the network or the
receiver does: a 2xx answer is a success; any other status, a redirect (never followed: a
signed event goes only where the partner registered it), a timeout, a refused connection, a TLS
failure or a failed DNS lookup is a failed attempt with a short, readable ``error`` for the
delivery log. The retry schedule and the log itself belong to the caller.

Address pinning, against DNS rebinding. ``check_url`` refused private targets at registration,
but a name can resolve to anything later, and differently on each lookup. So ``send`` resolves
the host once (``resolve``, ``socket.getaddrinfo`` unless a test injects one), refuses the
attempt if ANY address is not public (unless ``allow_private``), and connects to the first
address itself (the resolver's order of preference; no fallback to the others within one
attempt, the next attempt comes soon enough): the request URL carries the IP address, the
``Host`` header the name, and for https the ``sni_hostname`` request extension (honoured by
httpcore) keeps the name for SNI and for certificate verification. There is no second lookup
to swap the address: the client from ``make_client`` refuses to connect to anything but an IP
address, so a request that was not pinned fails instead of resolving. With ``allow_private``
the lookup and the pinning stay the same; only the check is lifted.

Bounds. ``make_client`` sets connect and read (and write) timeouts, and its transport adds a
deadline to each connection (``WEBHOOK_TOTAL_TIMEOUT_S`` from the connect): every socket
operation waits at most until then, so a receiver that trickles its answer a byte at a time
cannot hold a worker past it. Connections are never reused (no keep-alive), so a connection's
deadline is its request's, and a TLS session verified for one endpoint's name never carries
another endpoint's request. Only the first ``WEBHOOK_RESPONSE_BODY_BYTES_MAX`` bytes of an
answer are read, undecoded (``Accept-Encoding: identity``: no decompression bombs). Cookies are
never stored, so one endpoint's cookies never reach another; proxies from the environment are
ignored (``trust_env=False``).
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import socket
import ssl
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, Protocol

import httpcore
import httpx

from zeropools import __version__
from zeropools.domain import limits
from zeropools.domain.webhooks import is_public_address

USER_AGENT = f"zeropools-webhooks/{__version__}"
_TOTAL_TIMEOUT_PREFIX = "total timeout"


class Resolver(Protocol):
    """``socket.getaddrinfo``'s shape: the fifth item of each result is the socket address."""

    def __call__(
        self, host: str, port: int, family: int = ..., type: int = ...
    ) -> Sequence[tuple[Any, Any, Any, Any, tuple[Any, ...]]]: ...


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt did: ``status_code`` when the receiver answered, ``latency_ms`` from the
    start of the attempt (lookup included) to the answer's headers or the failure, ``error`` a
    short reason when it failed, ``response_body`` the first bytes of the answer for the log."""

    status_code: int | None
    latency_ms: int
    error: str | None
    succeeded: bool
    response_body: bytes = b""


class _NotDelivered(Exception):
    """Why an attempt ended before a request was sent; the message goes into the log."""


def send(
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    client: httpx.Client,
    resolve: Resolver = socket.getaddrinfo,
    allow_private: bool,
) -> AttemptResult:
    """POST ``body`` with ``headers`` to ``url`` once, pinned to a checked address."""
    started = time.monotonic()

    def failed(error: str, status_code: int | None = None, kept: bytes = b"") -> AttemptResult:
        return AttemptResult(status_code, _ms_since(started), _short(error), False, kept)

    try:
        target, address = _target(url, resolve, allow_private)
        pinned = target.copy_with(host=str(address))
    except _NotDelivered as exc:
        return failed(str(exc))
    except httpx.InvalidURL as exc:
        return failed(f"invalid URL: {exc}")
    host = target.raw_host.decode("ascii")
    request_headers = {**headers, "Host": target.netloc.decode("ascii")}
    # https to a name: TLS must present and verify the name, not the address we connect to.
    extensions = {"sni_hostname": host} if target.scheme == "https" and not _is_ip(host) else {}
    try:
        with client.stream(
            "POST", pinned, content=body, headers=request_headers, extensions=extensions
        ) as response:
            latency_ms = _ms_since(started)
            kept = _first_bytes(response, limits.WEBHOOK_RESPONSE_BODY_BYTES_MAX)
    except httpx.TransportError as exc:
        return failed(_describe(exc))
    status = response.status_code
    if 200 <= status < 300:
        return AttemptResult(status, latency_ms, None, True, kept)
    if 300 <= status < 400:
        location = response.headers.get("location", "none")
        error = f"HTTP {status}: redirects are not followed (Location: {location})"
    else:
        error = f"HTTP {status} {response.reason_phrase}".rstrip()
    return AttemptResult(status, latency_ms, _short(error), False, kept)


def make_client(
    *,
    connect_timeout_s: float = limits.WEBHOOK_CONNECT_TIMEOUT_S,
    read_timeout_s: float = limits.WEBHOOK_READ_TIMEOUT_S,
    total_timeout_s: float = limits.WEBHOOK_TOTAL_TIMEOUT_S,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.Client:
    """The client ``send`` expects: bounded, no redirects, no proxies, no cookies, no keep-alive,
    connecting only to IP addresses. ``ssl_context`` is for tests with their own CA."""
    transport = _PinnedTransport(
        ssl_context or httpx.create_ssl_context(trust_env=False),
        _DeadlineBackend(total_timeout_s),
    )
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(
            connect=connect_timeout_s,
            read=read_timeout_s,
            write=read_timeout_s,
            pool=connect_timeout_s,
        ),
        follow_redirects=False,
        trust_env=False,
        cookies=http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[])),
        headers={
            "User-Agent": USER_AGENT,
            "Accept-Encoding": "identity",
            "Connection": "close",
        },
    )


def _target(
    url: str, resolve: Resolver, allow_private: bool
) -> tuple[httpx.URL, IPv4Address | IPv6Address]:
    """The parsed URL and the one address to connect to, looked up once and checked."""
    target = httpx.URL(url)
    if target.scheme not in ("http", "https") or not target.raw_host:
        raise _NotDelivered("invalid URL: not http(s) with a host")
    if target.userinfo:
        raise _NotDelivered("invalid URL: credentials in the URL are not sent")
    host = target.raw_host.decode("ascii")
    if _is_ip(host):
        addresses: list[IPv4Address | IPv6Address] = [ip_address(host)]
    else:
        addresses = _lookup(host, target.port or (443 if target.scheme == "https" else 80), resolve)
    if not allow_private:
        for address in addresses:
            if not is_public_address(address):
                raise _NotDelivered(
                    f"{host} resolves to {address}, which is not a public address: not sent"
                    if str(address) != host
                    else f"{host} is not a public address: not sent"
                )
    return target, addresses[0]


def _lookup(host: str, port: int, resolve: Resolver) -> list[IPv4Address | IPv6Address]:
    try:
        found = resolve(host, port, 0, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise _NotDelivered(f"DNS lookup of {host} failed: {reason}") from None
    addresses: list[IPv4Address | IPv6Address] = []
    for family, _type, _proto, _name, sockaddr in found:
        if family in (socket.AF_INET, socket.AF_INET6):
            address = ip_address(sockaddr[0])
            if address not in addresses:
                addresses.append(address)
    if not addresses:
        raise _NotDelivered(f"DNS lookup of {host} found no address")
    return addresses


def _is_ip(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True


def _first_bytes(response: httpx.Response, limit: int) -> bytes:
    """Up to ``limit`` bytes of the body as sent; a body cut short keeps what arrived, because
    the status has already decided the attempt."""
    kept = bytearray()
    with contextlib.suppress(httpx.TransportError):
        for chunk in response.iter_raw():
            kept += chunk[: limit - len(kept)]
            if len(kept) >= limit:
                break
    return bytes(kept)


def _describe(exc: httpx.TransportError) -> str:
    """A short reason a person can act on, from httpx's exception and its causes."""
    chain = _chain(exc)
    cause = chain[-1]
    over_total = [str(e) for e in chain if str(e).startswith(_TOTAL_TIMEOUT_PREFIX)]
    if isinstance(exc, httpx.TimeoutException) and over_total:
        return over_total[0]
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, httpx.ReadTimeout):
        return "read timeout: no answer"
    if isinstance(exc, httpx.WriteTimeout):
        return "write timeout: the receiver did not take the request"
    if isinstance(exc, httpx.PoolTimeout):
        return "no free connection in time (too many attempts at once)"
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"TLS certificate not accepted: {cause.verify_message}"
    if isinstance(cause, ssl.SSLError):
        return f"TLS handshake failed: {cause.reason or cause}"
    if isinstance(cause, OSError) and cause.strerror:
        return f"{_kind(exc)}: {cause.strerror}"
    return f"{_kind(exc)}: {cause}" if str(cause) else _kind(exc)


def _kind(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connect failed"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "malformed answer"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        return "connection lost"
    return type(exc).__name__


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and what it wraps, innermost last: httpx's error wraps httpcore's, which wraps the
    OSError or SSLError. httpcore's pool re-raises ``from None``, so where there is no cause the
    context is followed."""
    chain = [exc]
    while len(chain) < 10:  # a bound, should a chain ever loop
        inner = chain[-1].__cause__ or chain[-1].__context__
        if inner is None:
            break
        chain.append(inner)
    return chain


def _short(error: str) -> str:
    if len(error) <= limits.WEBHOOK_ERROR_CHARS_MAX:
        return error
    return error[: limits.WEBHOOK_ERROR_CHARS_MAX - 1] + "…"


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


# The transport: httpx's default one over an httpcore pool, with a network backend that adds the
# deadline and refuses names. httpx takes no network backend, hence these few lines of our own.


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, total_timeout_s: float) -> None:
        self._total_timeout_s = total_timeout_s
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        if not _is_ip(host):
            # A name here would be looked up again, after the check: exactly the rebinding hole.
            raise httpcore.ConnectError(
                f"{host} is not an IP address: the webhook client only connects to addresses "
                "send() resolved and checked"
            )
        deadline = _Deadline(time.monotonic() + self._total_timeout_s, self._total_timeout_s)
        stream = self._sockets.connect_tcp(
            host,
            port,
            deadline.bound(timeout, httpcore.ConnectTimeout),
            local_address,
            socket_options,
        )
        return _DeadlineStream(stream, deadline)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks are not delivered over unix sockets")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class _Deadline:
    at: float  # time.monotonic()
    total_timeout_s: float

    @property
    def message(self) -> str:
        return f"{_TOTAL_TIMEOUT_PREFIX}: no complete answer within {self.total_timeout_s:g} s"

    def bound(self, timeout: float | None, error: type[httpcore.TimeoutException]) -> float:
        """``timeout`` shortened to what is left before the deadline; raises when none is."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise error(self.message)
        return left if timeout is None else min(timeout, left)

    @contextlib.contextmanager
    def watch(self, error: type[httpcore.TimeoutException]) -> Iterator[None]:
        try:
            yield
        except httpcore.TimeoutException:
            if time.monotonic() >= self.at:
                raise error(self.message) from None
            raise


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with self._deadline.watch(httpcore.ReadTimeout):
            return self._stream.read(max_bytes, self._deadline.bound(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with self._deadline.watch(httpcore.WriteTimeout):
            self._stream.write(buffer, self._deadline.bound(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        with self._deadline.watch(httpcore.ConnectTimeout):
            stream = self._stream.start_tls(
                ssl_context, server_hostname, self._deadline.bound(timeout, httpcore.ConnectTimeout)
            )
        return _DeadlineStream(stream, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


# httpcore's errors as httpx's, most specific first (what httpx's own transport does).
_HTTPX_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core_error, httpx_error in _HTTPX_ERRORS:
            if isinstance(exc, core_error):
                raise httpx_error(str(exc)) from exc
        raise


class _PinnedTransport(httpx.BaseTransport):
    def __init__(self, ssl_context: ssl.SSLContext, backend: _DeadlineBackend) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.WEBHOOK_CONNECTIONS_MAX,
            max_keepalive_connections=0,
            network_backend=backend,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            core_response = self._pool.handle_request(core_request)
        assert isinstance(core_response.stream, Iterable)
        return httpx.Response(
            status_code=core_response.status,
            headers=core_response.headers,
            stream=_ResponseStream(core_response.stream),
            extensions=core_response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._chunks

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
