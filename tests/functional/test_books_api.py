"""The private catalogue through the real app: CRUD, uniqueness, isolation, paging, caching."""

import threading

import pytest


@pytest.fixture
def alice(api):
    return api.new_user(name="Alice")[1]


@pytest.fixture
def bob(api):
    return api.new_user(name="Bob")[1]


def create(api, token, book):
    response = api.call("POST", "/books", book, token=token)
    assert response.status_code == 201, response.body
    return response.json_body


def test_create_returns_the_normalised_book(api, alice):
    response = api.call(
        "POST",
        "/books",
        {
            "title": " Dune ",
            "author": "Frank Herbert",
            "isbn": "0-306-40615-2",
            "published_year": 1965,
        },
        token=alice,
    )
    assert response.status_code == 201
    book = response.json_body
    assert set(book) == {
        "book_id",
        "title",
        "author",
        "isbn",
        "published_year",
        "genre",
        "pages",
        "created_at",
        "updated_at",
    }
    assert (book["title"], book["isbn"], book["genre"]) == ("Dune", "9780306406157", None)


def test_same_isbn_twice_in_one_catalogue_is_409_in_any_spelling(api, alice):
    create(api, alice, {"title": "A", "author": "B", "isbn": "9780306406157"})
    response = api.call(
        "POST", "/books", {"title": "C", "author": "D", "isbn": "0306406152"}, token=alice
    )
    assert response.status_code == 409
    assert response.json_body["error"] == "conflict"


def test_two_users_may_own_the_same_isbn(api, alice, bob, valid_book):
    book = valid_book()
    create(api, alice, book)
    create(api, bob, book)


def test_isbn_race_gives_one_201_and_one_409(api, alice, valid_book):
    book = valid_book()
    barrier = threading.Barrier(2)
    statuses = []

    def post():
        barrier.wait()
        statuses.append(api.call("POST", "/books", book, token=alice).status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 409]
    assert len(api.call("GET", "/books", token=alice).json_body["items"]) == 1


def test_get_put_patch_delete(api, alice, valid_book):
    book = create(api, alice, valid_book())
    path = f"/books/{book['book_id']}"
    assert api.call("GET", path, token=alice).json_body == book

    replacement = valid_book(title="Replaced", genre=None)
    replaced = api.call("PUT", path, replacement, token=alice)
    assert replaced.status_code == 200
    assert replaced.json_body["title"] == "Replaced"
    assert replaced.json_body["genre"] is None
    assert replaced.json_body["created_at"] == book["created_at"]
    assert replaced.json_body["updated_at"] >= book["updated_at"]

    patched = api.call("PATCH", path, {"pages": 99}, token=alice)
    assert patched.status_code == 200
    assert (patched.json_body["title"], patched.json_body["pages"]) == ("Replaced", 99)

    deleted = api.call("DELETE", path, token=alice)
    assert deleted.status_code == 204
    assert api.call("GET", path, token=alice).status_code == 404
    assert api.call("DELETE", path, token=alice).status_code == 404


def test_deleting_or_changing_isbn_frees_the_old_one(api, alice, valid_book):
    first = create(api, alice, valid_book())
    new_isbn = valid_book()["isbn"]
    api.call("PATCH", f"/books/{first['book_id']}", {"isbn": new_isbn}, token=alice)
    create(api, alice, valid_book(isbn=first["isbn"]))  # old ISBN is free again
    conflict = api.call("POST", "/books", valid_book(isbn=new_isbn), token=alice)
    assert conflict.status_code == 409
    api.call("DELETE", f"/books/{first['book_id']}", token=alice)
    create(api, alice, valid_book(isbn=new_isbn))


def test_changing_isbn_to_one_already_owned_is_409_and_changes_nothing(api, alice, valid_book):
    first = create(api, alice, valid_book())
    second = create(api, alice, valid_book())
    response = api.call(
        "PATCH", f"/books/{second['book_id']}", {"isbn": first["isbn"]}, token=alice
    )
    assert response.status_code == 409
    assert api.call("GET", f"/books/{second['book_id']}", token=alice).json_body == second


def test_another_users_book_is_answered_as_missing(api, alice, bob, valid_book):
    book = create(api, alice, valid_book())
    path = f"/books/{book['book_id']}"
    for method, body in (
        ("GET", None),
        ("PUT", valid_book()),
        ("PATCH", {"pages": 2}),
        ("DELETE", None),
    ):
        response = api.call(method, path, body, token=bob)
        assert response.status_code == 404, method
        assert response.json_body["error"] == "not_found"
    assert api.call("GET", "/books", token=bob).json_body["items"] == []
    assert api.call("GET", path, token=alice).json_body == book


def test_pages_cover_every_book_once(api, alice, valid_book):
    created = {create(api, alice, valid_book())["book_id"] for _ in range(7)}
    seen, cursor, pages = [], None, 0
    while True:
        query = "/books?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", query, token=alice).json_body
        seen += [b["book_id"] for b in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(created)


def test_exactly_full_last_page_has_no_cursor(api, alice, valid_book):
    for _ in range(4):
        create(api, alice, valid_book())
    first = api.call("GET", "/books?limit=2", token=alice).json_body
    second = api.call("GET", f"/books?limit=2&cursor={first['next_cursor']}", token=alice).json_body
    assert len(second["items"]) == 2
    assert second["next_cursor"] is None


def test_filters_by_author_and_genre(api, alice, valid_book):
    create(api, alice, valid_book(author="Le Guin", genre="sf"))
    create(api, alice, valid_book(author="Le Guin", genre="fantasy"))
    create(api, alice, valid_book(author="Austen", genre="romance"))
    by_author = api.call("GET", "/books?author=Le%20Guin", token=alice).json_body["items"]
    assert {b["genre"] for b in by_author} == {"sf", "fantasy"}
    both = api.call("GET", "/books?author=Le%20Guin&genre=sf", token=alice).json_body["items"]
    assert [b["genre"] for b in both] == ["sf"]


def test_cursor_of_another_user_is_400(api, alice, bob, valid_book):
    for _ in range(3):
        create(api, alice, valid_book())
    cursor = api.call("GET", "/books?limit=1", token=alice).json_body["next_cursor"]
    response = api.call("GET", f"/books?cursor={cursor}", token=bob)
    assert response.status_code == 400


def test_cache_miss_hit_and_invalidation_on_every_write(api, alice, valid_book):
    book = create(api, alice, valid_book())
    path = f"/books/{book['book_id']}"
    assert api.call("GET", path, token=alice).headers["X-Cache"] == "miss"
    hit = api.call("GET", path, token=alice)
    assert hit.headers["X-Cache"] == "hit"
    assert hit.json_body == book

    api.call("PUT", path, valid_book(title="Put"), token=alice)
    after_put = api.call("GET", path, token=alice)
    assert (after_put.headers["X-Cache"], after_put.json_body["title"]) == ("miss", "Put")
    assert api.call("GET", path, token=alice).headers["X-Cache"] == "hit"

    api.call("PATCH", path, {"title": "Patched"}, token=alice)
    after_patch = api.call("GET", path, token=alice)
    assert (after_patch.headers["X-Cache"], after_patch.json_body["title"]) == ("miss", "Patched")

    api.call("DELETE", path, token=alice)
    assert api.call("GET", path, token=alice).status_code == 404


def test_cache_keys_are_scoped_by_user(api, alice, bob, valid_book, aws):
    import redis

    book = create(api, alice, valid_book())
    api.call("GET", f"/books/{book['book_id']}", token=alice)
    keys = redis.Redis.from_url(aws.redis_url, decode_responses=True).keys("books:cache:*")
    assert len(keys) == 1 and keys[0].endswith(book["book_id"])
    assert api.call("GET", f"/books/{book['book_id']}", token=bob).status_code == 404
