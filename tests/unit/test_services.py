"""Service behaviour with fakes: caching, invalidation, registration and login rules."""

import pytest

from chalicelib.accounts import service as auth
from chalicelib.books import service as books
from chalicelib.platform.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from tests.unit.fakes import FakeBookCache, FakeBookRepository, FakeUserRepository

VALID = {"title": "Dune", "author": "Frank Herbert", "isbn": "9780306406157"}


@pytest.fixture
def repo():
    return FakeBookRepository()


@pytest.fixture
def cache():
    return FakeBookCache()


def test_second_read_is_served_from_cache(repo, cache):
    book = books.create_book(repo, "alice", VALID)
    _, first_hit = books.get_book(repo, cache, "alice", book.book_id)
    _, second_hit = books.get_book(repo, cache, "alice", book.book_id)
    assert (first_hit, second_hit) == (False, True)
    assert repo.reads == 1


def test_write_invalidates_and_next_read_sees_new_data(repo, cache):
    book = books.create_book(repo, "alice", VALID)
    books.get_book(repo, cache, "alice", book.book_id)
    books.patch_book(repo, cache, "alice", book.book_id, {"title": "Dune Messiah"})
    fresh, hit = books.get_book(repo, cache, "alice", book.book_id)
    assert not hit
    assert fresh.fields.title == "Dune Messiah"


def test_slow_reader_cannot_repopulate_an_invalidated_entry(repo, cache):
    book = books.create_book(repo, "alice", VALID)
    _, token = cache.get("alice", book.book_id)  # reader starts, sees version 0
    cache.invalidate("alice", book.book_id)  # a writer runs meanwhile
    cache.put(book, token)  # the reader's stale put is refused
    assert cache.get("alice", book.book_id)[0] is None


def test_other_users_book_is_not_found(repo, cache):
    book = books.create_book(repo, "alice", VALID)
    with pytest.raises(NotFound):
        books.get_book(repo, cache, "bob", book.book_id)
    with pytest.raises(NotFound):
        books.delete_book(repo, cache, "bob", book.book_id)


def test_malformed_book_id_is_not_found_without_touching_the_store(repo, cache):
    with pytest.raises(NotFound):
        books.get_book(repo, cache, "alice", "../etc/passwd")
    assert repo.reads == 0


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5"])
def test_page_size_out_of_range_is_rejected(repo, limit):
    with pytest.raises(ValidationFailed):
        books.list_books(repo, b"k" * 32, "alice", {"limit": limit})


def test_pages_chain_through_cursors(repo):
    for n in range(5):
        books.create_book(repo, "alice", {**VALID, "isbn": ISBNS[n]})
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = books.list_books(repo, b"k" * 32, "alice", params)
        seen += [b["book_id"] for b in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5


ISBNS = ["9780306406157", "9780804429573", "9791090636071", "9780131103627", "9780262033848"]


def test_register_normalises_email_and_assigns_admin_role():
    users = FakeUserRepository()
    user = auth.register(
        users,
        {"email": "  Boss@Example.com ", "password": "longenough", "name": " Boss "},
        frozenset({"boss@example.com"}),
    )
    assert (user.email, user.name, user.role) == ("boss@example.com", "Boss", "admin")
    assert user.password_hash != "longenough"


def test_register_twice_conflicts():
    users = FakeUserRepository()
    data = {"email": "a@example.com", "password": "longenough", "name": "A"}
    auth.register(users, data, frozenset())
    with pytest.raises(Conflict):
        auth.register(users, data, frozenset())


def test_wrong_password_and_unknown_email_fail_the_same_way():
    users = FakeUserRepository()
    auth.register(
        users, {"email": "a@example.com", "password": "longenough", "name": "A"}, frozenset()
    )
    with pytest.raises(Unauthorized) as wrong_password:
        auth.login(users, {"email": "a@example.com", "password": "wrong-one"}, "s" * 32, 60)
    with pytest.raises(Unauthorized) as unknown:
        auth.login(users, {"email": "nobody@example.com", "password": "longenough"}, "s" * 32, 60)
    assert wrong_password.value.message == unknown.value.message


def test_login_returns_a_bearer_token():
    users = FakeUserRepository()
    auth.register(
        users, {"email": "a@example.com", "password": "longenough", "name": "A"}, frozenset()
    )
    result = auth.login(users, {"email": "A@example.com", "password": "longenough"}, "s" * 32, 60)
    assert result.to_dict()["token_type"] == "Bearer"
    assert result.expires_in == 60
