"""A Redis outage degrades the cache to DynamoDB reads: still 200, never a 5xx."""


def test_reads_and_writes_keep_working_while_redis_is_down(api, app_redis, valid_book):
    _, token = api.new_user()
    book = api.call("POST", "/books", valid_book(), token=token).json_body
    path = f"/books/{book['book_id']}"
    api.call("GET", path, token=token)
    assert api.call("GET", path, token=token).headers["X-Cache"] == "hit"

    app_redis.stop()
    down = api.call("GET", path, token=token)
    assert down.status_code == 200
    assert down.headers["X-Cache"] == "miss"
    assert down.json_body == book
    patched = api.call("PATCH", path, {"title": "Written while Redis was down"}, token=token)
    assert patched.status_code == 200
    health = api.call("GET", "/health")
    assert health.status_code == 503
    assert health.json_body["checks"]["redis"] == "error"

    app_redis.start()
    back = api.call("GET", path, token=token)
    assert back.status_code == 200
    assert back.json_body["title"] == "Written while Redis was down"


def test_health_is_ok_when_everything_answers(api):
    response = api.call("GET", "/health")
    assert response.status_code == 200
    assert response.json_body == {
        "status": "ok",
        "checks": {"redis": "ok", "dynamodb": "ok", "s3": "ok"},
    }
