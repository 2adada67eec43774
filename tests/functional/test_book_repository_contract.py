"""One contract, two implementations: the unit tests' fake must behave like the real adapter."""

from dataclasses import replace

import pytest

from chalicelib.books.domain import CHANGED_MEANWHILE, Book, BookFields
from chalicelib.platform.errors import Conflict
from chalicelib.platform.ids import new_book_id
from tests.unit.fakes import FakeBookRepository

ISBNS = ["9780306406157", "9780804429573", "9791090636071", "9780131103627", "9780262033848"]


@pytest.fixture(params=["fake", "dynamodb"])
def repo(request):
    if request.param == "fake":
        return FakeBookRepository()
    settings = request.getfixturevalue("aws")
    from chalicelib.books.adapters.book_repository import DynamoBookRepository

    return DynamoBookRepository(settings)


def a_book(user_id="alice", isbn=ISBNS[0], author="Ada"):
    fields = BookFields(title="T", author=author, isbn=isbn)
    stamp = "2026-11-25T10:00:00.000Z"
    return Book(
        book_id=new_book_id(), user_id=user_id, fields=fields, created_at=stamp, updated_at=stamp
    )


def test_added_book_reads_back(repo):
    book = a_book()
    repo.add(book)
    assert repo.get("alice", book.book_id) == book
    assert repo.get("bob", book.book_id) is None


def test_isbn_is_unique_per_user_only(repo):
    repo.add(a_book())
    with pytest.raises(Conflict):
        repo.add(a_book())
    repo.add(a_book(user_id="bob"))


def test_replace_moves_the_isbn(repo):
    book = a_book()
    repo.add(book)
    moved = replace(
        book, fields=replace(book.fields, isbn=ISBNS[1]), updated_at="2026-11-25T11:00:00.000Z"
    )
    repo.replace(book, moved)
    assert repo.get("alice", book.book_id) == moved
    repo.add(a_book(isbn=ISBNS[0]))
    with pytest.raises(Conflict):
        repo.add(a_book(isbn=ISBNS[1]))


def test_delete_frees_the_isbn(repo):
    book = a_book()
    repo.add(book)
    repo.delete(book)
    assert repo.get("alice", book.book_id) is None
    repo.add(a_book())


def test_list_pages_with_filter_and_ends_without_position(repo):
    for n, isbn in enumerate(ISBNS):
        repo.add(a_book(isbn=isbn, author="Ada" if n % 2 == 0 else "Bea"))
    first, position = repo.list("alice", 2, None, "Ada", None)
    assert len(first) == 2 and position is not None
    rest, end = repo.list("alice", 2, position, "Ada", None)
    assert len(rest) == 1 and end is None
    assert {b.fields.author for b in first + rest} == {"Ada"}


def test_a_stale_replace_is_a_conflict_that_says_so_not_a_duplicate(repo):
    book = a_book()
    repo.add(book)
    first = replace(book, updated_at="2026-12-01T00:00:00.000Z")
    repo.replace(book, first)

    late = replace(book, updated_at="2026-12-02T00:00:00.000Z")  # read before ``first``
    with pytest.raises(Conflict) as exc:
        repo.replace(book, late)

    assert exc.value.message == CHANGED_MEANWHILE
    assert repo.get(book.user_id, book.book_id) == first
