"""Registration, login, profile and token handling through the real app (moto + redis)."""

import time

import pytest

from chalicelib.accounts.tokens import Principal, issue_token
from tests.conftest import TEST_ENV


def test_register_returns_the_public_profile(api):
    response = api.call(
        "POST",
        "/auth/register",
        {"email": "  Alice@Example.COM ", "password": "correct-horse", "name": "Alice"},
    )
    assert response.status_code == 201
    body = response.json_body
    assert set(body) == {
        "user_id",
        "email",
        "name",
        "role",
        "created_at",
        "email_verified",
        "email_status",
    }
    assert body["email_status"] == "ok"
    assert body["email"] == "alice@example.com"
    assert body["role"] == "user"
    assert body["email_verified"] is False  # a verification email is on its way


def test_register_same_email_twice_is_409(api):
    api.register("dup@example.com")
    response = api.call(
        "POST",
        "/auth/register",
        {"email": "DUP@example.com", "password": "another-pass", "name": "D"},
    )
    assert response.status_code == 409
    assert response.json_body["error"] == "conflict"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": "correct-horse", "name": "A"}, "email"),
        ({"email": "a@example.com", "password": "short", "name": "A"}, "password"),
        ({"email": "a@example.com", "password": "correct-horse", "name": ""}, "name"),
        ({"email": "a@example.com", "password": "correct-horse", "name": "   "}, "name"),
        ({"email": "a@example.com", "password": "correct-horse"}, "name"),
        ({"email": "a@example.com", "password": 12345678, "name": "A"}, "password"),
    ],
)
def test_invalid_registration_is_400_naming_the_field(api, body, field):
    response = api.call("POST", "/auth/register", body)
    assert response.status_code == 400
    assert field in response.json_body["details"]


def test_admin_emails_get_the_admin_role(api):
    assert api.register("admin@example.com")["role"] == "admin"


def test_login_returns_a_bearer_token_for_me(api):
    user = api.register("bob@example.com", name="Bob")
    response = api.call(
        "POST", "/auth/login", {"email": "BOB@example.com", "password": "correct-horse"}
    )
    assert response.status_code == 200
    assert response.json_body["token_type"] == "Bearer"
    assert response.json_body["expires_in"] > 0
    me = api.call("GET", "/users/me", token=response.json_body["access_token"])
    assert me.status_code == 200
    assert me.json_body == user


def test_wrong_password_and_unknown_email_get_the_same_401(api):
    api.register("carol@example.com")
    wrong = api.call("POST", "/auth/login", {"email": "carol@example.com", "password": "nope-nope"})
    unknown = api.call("POST", "/auth/login", {"email": "who@example.com", "password": "nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json_body == unknown.json_body


def _expired_token(user):
    principal = Principal(user_id=user["user_id"], email=user["email"], role="user")
    return issue_token(TEST_ENV["JWT_SECRET"], principal, 60, now=time.time() - 3600)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not.a.jwt"},
        {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
    ],
)
def test_missing_or_malformed_token_is_401_json(client, headers):
    response = client.http.get("/users/me", headers=headers)
    assert response.status_code == 401
    assert response.json_body["error"] == "unauthorized"
    assert "Traceback" not in response.body.decode()


def test_expired_token_is_401(api):
    user = api.register()
    response = api.call("GET", "/users/me", token=_expired_token(user))
    assert response.status_code == 401
    assert "expired" in response.json_body["message"]


def test_token_signed_with_another_secret_is_401(api):
    user = api.register()
    principal = Principal(user_id=user["user_id"], email=user["email"], role="admin")
    forged = issue_token("some-other-secret-of-enough-length-000000", principal, 600)
    assert api.call("GET", "/users/me", token=forged).status_code == 401


def test_unknown_route_is_404_json(client):
    response = client.http.get("/no/such/route")
    assert response.status_code == 404
    assert response.json_body["error"] == "not_found"


def test_wrong_method_is_405_json(api):
    response = api.call("DELETE", "/auth/login")
    assert response.status_code == 405
    assert set(response.json_body) == {"error", "message"}
