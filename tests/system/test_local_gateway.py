"""``make run``'s HTTP server answers what API Gateway answers, over a real socket.

One runner (what ``make run`` starts) serves every test of this module on free ports; the tests
speak raw HTTP where a client library would hide what is on the wire.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from tests.local_stack import start_runner, stop_runner


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    stack = start_runner(tmp_path_factory.mktemp("gateway"))
    try:
        yield "127.0.0.1", stack.api_port
    finally:
        stop_runner(stack)


def _raw(address: tuple[str, int], data: bytes) -> bytes:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_a_head_answer_has_no_body_and_the_next_answer_on_the_connection_is_intact(base):
    answer = _raw(
        base,
        b"HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )

    first, rest = answer.split(b"\r\n\r\n", 1)
    assert first.startswith(b"HTTP/1.1 ")
    assert rest.startswith(b"HTTP/1.1 200"), rest[:200]


@pytest.mark.parametrize("path", ["/health;jsessionid=x", "/books;x", "/users/me;x"])
def test_a_path_with_parameters_is_a_path_no_route_has(base, path):
    response = requests.get(f"http://{base[0]}:{base[1]}{path}", timeout=10)

    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "FOO"])
def test_any_method_gets_a_json_answer(base, method):
    answer = _raw(base, f"{method} /health HTTP/1.1\r\nHost: x\r\n\r\n".encode())

    status = int(answer.split(b" ", 2)[1])
    assert status == 405
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["error"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("Content-Length: ten", 400),
        ("Content-Length: -1", 400),
        ("Content-Length: 2\r\nContent-Length: 3", 400),
        ("Content-Length: 99999999999", 413),
        ("Content-Length: " + "9" * 5000, 413),
        ("Content-Length: 500", 400),  # and only two bytes follow
    ],
)
def test_a_bad_or_huge_content_length_is_refused_before_reading(base, header, status):
    answer = _raw(base, f"POST /books HTTP/1.1\r\nHost: x\r\n{header}\r\n\r\n{{}}".encode())

    assert int(answer.split(b" ", 2)[1]) == status
    assert "error" in json.loads(answer.split(b"\r\n\r\n", 1)[1])


def test_a_burst_of_connections_is_answered_in_full(base):
    results: list[int | str] = []

    def call() -> None:
        try:
            results.append(
                requests.get(f"http://{base[0]}:{base[1]}/health", timeout=30).status_code
            )
        except requests.RequestException as exc:
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=call) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == [200] * 40
