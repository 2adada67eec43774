"""Routes: the caller's private catalogue."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.api.http import caller, route
from chalicelib.api.schemas import BookInput, BookOut, BookPage, BookPatch, BooksQuery
from chalicelib.books import service as books

books_bp = Blueprint(__name__)


_BOOK_ID = {"book_id": "$response.body#/book_id"}


@route(
    books_bp,
    "/books",
    ["POST"],
    body=BookInput,
    ok={201: BookOut},
    errors=(409,),
    links={
        "GetBook": ("get_book", _BOOK_ID),
        "ReplaceBook": ("replace_book", _BOOK_ID),
        "PatchBook": ("patch_book", _BOOK_ID),
        "DeleteBook": ("delete_book", _BOOK_ID),
    },
)
def create_book(body: BookInput) -> Response:
    """Add a book.

    409 when the caller's catalogue already has a book with that ISBN (also when two requests
    race).
    """
    user_id = caller(books_bp.current_request).user_id
    book = books.create_book(
        wiring.book_repository(), user_id, body.model_dump(), activity=wiring.activity_counter()
    )
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


def _update(book_id: str, fields: dict[str, Any], replace: bool) -> dict[str, Any]:
    user_id = caller(books_bp.current_request).user_id
    update = books.replace_book if replace else books.patch_book
    book = update(
        wiring.book_repository(),
        wiring.book_cache(),
        user_id,
        book_id,
        fields,
        activity=wiring.activity_counter(),
    )
    return book.to_dict()


@route(books_bp, "/books/{book_id}", ["PUT"], body=BookInput, ok={200: BookOut}, errors=(404, 409))
def replace_book(book_id: str, body: BookInput) -> dict[str, Any]:
    """Replace every field of a book.

    409 when the new ISBN is already in the catalogue.
    """
    return _update(book_id, body.model_dump(), replace=True)


@route(
    books_bp, "/books/{book_id}", ["PATCH"], body=BookPatch, ok={200: BookOut}, errors=(404, 409)
)
def patch_book(book_id: str, body: BookPatch) -> dict[str, Any]:
    """Change the fields given; `null` clears an optional field.

    At least one field; 409 when the new ISBN is already in the catalogue.
    """
    return _update(book_id, body.model_dump(exclude_unset=True), replace=False)


@route(books_bp, "/books/{book_id}", ["DELETE"], ok={204: None}, errors=(404,))
def delete_book(book_id: str) -> Response:
    """Delete a book; its ISBN becomes free again."""
    user_id = caller(books_bp.current_request).user_id
    books.delete_book(
        wiring.book_repository(),
        wiring.book_cache(),
        user_id,
        book_id,
        activity=wiring.activity_counter(),
    )
    return Response(body="", status_code=204)
