"""ISBN uniqueness under concurrency, with DynamoDB Local's real conditional transactions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

ROUNDS = 8


def _race(api: Any, token: str, book: dict[str, Any]) -> list[int]:
    """Two threads POST the same book at the same instant; return both status codes."""
    start = threading.Barrier(2)

    def post() -> int:
        start.wait()
        return int(api.call("POST", "/books", book, token=token).status_code)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return sorted(pool.map(lambda _: post(), range(2)))


def test_two_concurrent_posts_of_one_isbn_give_one_201_and_one_409(
    api: Any, valid_book: Callable[..., dict[str, Any]]
) -> None:
    _, token = api.new_user()

    outcomes = [_race(api, token, valid_book()) for _ in range(ROUNDS)]

    assert outcomes == [[201, 409]] * ROUNDS
    listed = api.call("GET", "/books?limit=100", token=token).json_body["items"]
    assert len(listed) == ROUNDS
    assert len({book["isbn"] for book in listed}) == ROUNDS


def test_the_same_isbn_in_two_catalogues_is_allowed_concurrently(
    api: Any, valid_book: Callable[..., dict[str, Any]]
) -> None:
    _, alice = api.new_user()
    _, bob = api.new_user()
    book = valid_book()
    start = threading.Barrier(2)

    def post(token: str) -> int:
        start.wait()
        return int(api.call("POST", "/books", book, token=token).status_code)

    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = list(pool.map(post, [alice, bob]))

    assert codes == [201, 201]
