"""Routes: the caller's private catalogue."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.http import caller, json_body, query_params, route
from chalicelib.books import service as books

books_bp = Blueprint(__name__)


@route(books_bp, "/books", ["POST"])
def create_book() -> Response:
    """Add a book."""
    request = books_bp.current_request
    book = books.create_book(wiring.book_repository(), caller(request).user_id, json_body(request))
    return Response(body=book.to_dict(), status_code=201)


@route(books_bp, "/books", ["GET"])
def list_books() -> dict[str, Any]:
    """A page of the caller's books."""
    request = books_bp.current_request
    return books.list_books(
        wiring.book_repository(),
        wiring.cursor_secret(),
        caller(request).user_id,
        query_params(request, frozenset({"limit", "cursor", "author", "genre"})),
    )


@route(books_bp, "/books/{book_id}", ["GET"])
def get_book(book_id: str) -> Response:
    """One book, through the cache (``X-Cache`` says which)."""
    user_id = caller(books_bp.current_request).user_id
    book, hit = books.get_book(wiring.book_repository(), wiring.book_cache(), user_id, book_id)
    return Response(body=book.to_dict(), headers={"X-Cache": "hit" if hit else "miss"})


@route(books_bp, "/books/{book_id}", ["PUT", "PATCH"])
def update_book(book_id: str) -> dict[str, Any]:
    """PUT replaces every field of a book; PATCH changes the fields given."""
    request = books_bp.current_request
    update = books.replace_book if request.method == "PUT" else books.patch_book
    book = update(
        wiring.book_repository(),
        wiring.book_cache(),
        caller(request).user_id,
        book_id,
        json_body(request),
    )
    return book.to_dict()


@route(books_bp, "/books/{book_id}", ["DELETE"])
def delete_book(book_id: str) -> Response:
    """Delete a book."""
    user_id = caller(books_bp.current_request).user_id
    books.delete_book(wiring.book_repository(), wiring.book_cache(), user_id, book_id)
    return Response(body="", status_code=204)
