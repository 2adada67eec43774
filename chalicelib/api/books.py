"""Routes: the caller's private catalogue."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.body import read_json
from chalicelib.api.http import caller, route
from chalicelib.api.schemas import BookOut, BookPage, BooksQuery
from chalicelib.books import service as books

books_bp = Blueprint(__name__)


@route(books_bp, "/books", ["POST"], ok={201: BookOut}, errors=(409,))
def create_book() -> Response:
    """Add a book.

    409 when the caller's catalogue already has a book with that ISBN (also when two requests
    race).
    """
    request = books_bp.current_request
    data = read_json(request.headers, request.raw_body)
    book = books.create_book(wiring.book_repository(), caller(request).user_id, data)
    return Response(body=book.to_dict(), status_code=201)


@route(books_bp, "/books", ["GET"], ok={200: BookPage}, query=BooksQuery)
def list_books(query: BooksQuery) -> dict[str, Any]:
    """A page of the caller's books.

    Follow `next_cursor` for the next page; a malformed or tampered cursor is a 400.
    """
    request = books_bp.current_request
    return books.list_books(
        wiring.book_repository(), wiring.cursor_secret(), caller(request).user_id, query
    )


@route(books_bp, "/books/{book_id}", ["GET"], ok={200: BookOut}, errors=(404,))
def get_book(book_id: str) -> Response:
    """One book, through the cache (the `X-Cache` header says `hit` or `miss`)."""
    user_id = caller(books_bp.current_request).user_id
    book, hit = books.get_book(wiring.book_repository(), wiring.book_cache(), user_id, book_id)
    return Response(body=book.to_dict(), headers={"X-Cache": "hit" if hit else "miss"})


@route(books_bp, "/books/{book_id}", ["PUT", "PATCH"], ok={200: BookOut}, errors=(404, 409))
def update_book(book_id: str) -> dict[str, Any]:
    """Change a book: PUT replaces every field, PATCH only the fields given.

    In a PATCH, `null` clears an optional field. 409 when the new ISBN is already in the
    catalogue.
    """
    request = books_bp.current_request
    data = read_json(request.headers, request.raw_body)
    update = books.replace_book if request.method == "PUT" else books.patch_book
    book = update(
        wiring.book_repository(), wiring.book_cache(), caller(request).user_id, book_id, data
    )
    return book.to_dict()


@route(books_bp, "/books/{book_id}", ["DELETE"], ok={204: None}, errors=(404,))
def delete_book(book_id: str) -> Response:
    """Delete a book; its ISBN becomes free again."""
    user_id = caller(books_bp.current_request).user_id
    books.delete_book(wiring.book_repository(), wiring.book_cache(), user_id, book_id)
    return Response(body="", status_code=204)
