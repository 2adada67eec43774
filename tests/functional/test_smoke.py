def test_register_login_and_create_book(api, valid_book):
    user, token = api.new_user()
    response = api.call("POST", "/books", valid_book(), token=token)
    assert response.status_code == 201
    assert (
        api.call("GET", "/books", token=token).json_body["items"][0]["book_id"]
        == response.json_body["book_id"]
    )
    assert api.call("GET", "/books").status_code == 401
    assert api.call("GET", "/books").json_body["error"] == "unauthorized"
