"""Slow clients cannot hold a connection forever (issue 14, finding 5).

Goal: against a real ``zeropools serve``, a connection that sends nothing, part of a request
line or headers (also as its second request on a keep-alive connection), or part of a body,
or a body trickled byte by byte, gets a 408 ``request_timeout`` and is closed once the
configured header or body deadline has passed. Before, uvicorn kept such connections open with
no end (it arms no timer before the first response, and any byte cancels its keep-alive timer).
Method: raw sockets against ``serve`` with deadlines of 1 s; each socket read waits at most
``GIVE_UP_S`` (a bound that makes a regression fail instead of hang, not a timing claim).
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator

import pytest
from security_support import Served, serving

from support import sqlite_url

GIVE_UP_S = 30.0

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("slow")
    with serving(
        sqlite_url(folder),
        folder / "serve.log",
        ZEROPOOLS_HEADER_TIMEOUT_S="1",
        ZEROPOOLS_BODY_TIMEOUT_S="1",
    ) as running:
        yield running


def _connect(served: Served) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=GIVE_UP_S)
    sock.settimeout(GIVE_UP_S)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes; socket.timeout if it never does."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _problem(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


def test_a_connection_that_sends_nothing_is_closed(served: Served) -> None:
    with _connect(served) as sock:
        status, problem = _problem(_read_until_closed(sock))
    assert status == 408 and problem["code"] == "request_timeout"


def test_partial_headers_get_408_and_the_connection_is_closed(served: Served) -> None:
    with _connect(served) as sock:
        sock.sendall(b"GET /v1/partners HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        status, problem = _problem(_read_until_closed(sock))
    assert status == 408 and problem["code"] == "request_timeout"
    assert problem["type"] == "/errors/request_timeout"


def test_partial_headers_of_a_second_request_on_a_kept_alive_connection(served: Served) -> None:
    with _connect(served) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = sock.recv(65536)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")
        status, problem = _problem(_read_until_closed(sock))
    assert first.startswith(b"HTTP/1.1 200")
    assert status == 408 and problem["code"] == "request_timeout"


@pytest.mark.parametrize("path", ["/v1/partners", "/v1/payins/import", "/v1/reconciliation/match"])
def test_a_body_that_stops_half_way_gets_408(served: Served, path: str) -> None:
    with _connect(served) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {served.operator_key}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            '{"name": "Acme'.encode()
        )
        status, problem = _problem(_read_until_closed(sock))
    assert status == 408 and problem["code"] == "request_timeout"


def test_a_trickled_body_gets_408_although_every_byte_comes_quickly(served: Served) -> None:
    with _connect(served) as sock:
        sock.sendall(
            b"POST /v1/partners HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        )
        sock.settimeout(0.2)
        answer = b""
        for _ in range(int(GIVE_UP_S / 0.2)):
            try:
                sock.sendall(b" ")
                answer += sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if b"\r\n\r\n" in answer:
                # the head came; the body may follow in another packet before the close
                sock.settimeout(GIVE_UP_S)
                # TCP, not the server: the byte this client sent while the server was
                # answering is unread when the server closes, so its kernel resets the
                # connection, and a reset may drop the part of the answer not read yet
                with contextlib.suppress(ConnectionResetError):
                    answer += _read_until_closed(sock)
                break
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer[:200]
    length = int(
        next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:"))[15:]
    )
    if len(body) == length:  # the whole answer arrived (all but always): it is our problem
        status, problem = _problem(answer)
        assert status == 408 and problem["code"] == "request_timeout"


def test_a_prompt_client_is_served_as_usual(served: Served) -> None:
    with _connect(served) as sock:
        body = b'{"name": "Acme", "balance_model": "debit", "currencies": ["EUR"]}'
        sock.sendall(
            b"POST /v1/partners HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            + f"Authorization: Bearer {served.operator_key}\r\n".encode()
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        time.sleep(0.1)  # headers and body in two packets, well within the deadlines
        sock.sendall(body)
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
