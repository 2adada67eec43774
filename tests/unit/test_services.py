"""Service behaviour with fakes: caching, invalidation, registration and login rules."""

from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.accounts import service as auth
from chalicelib.accounts.verification import InvalidToken, hash_token
from chalicelib.books import service as books
from chalicelib.platform.errors import (
    Conflict,
    DependencyUnavailable,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from tests.unit.fakes import (
    FakeBookCache,
    FakeBookRepository,
    FakeHeldReports,
    FakeLimits,
    FakeOutbox,
    FakeUserRepository,
)

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


def _accounts(**overrides):
    deps = auth.AccountDeps(
        users=FakeUserRepository(),
        outbox=FakeOutbox(),
        limits=FakeLimits(),
        held_reports=FakeHeldReports(),
        verification_ttl_seconds=86_400,
    )
    return replace(deps, **overrides)


CLIENT = auth.Client(base_url="https://api.example.test/api", ip="203.0.113.9", user_agent="UA")


def _register(deps, email="a@example.com", admins=frozenset()):
    data = {"email": email, "password": "longenough", "name": "A"}
    return auth.register(deps, data, admins, CLIENT)


def test_register_normalises_email_and_assigns_admin_role():
    deps = _accounts()
    user = auth.register(
        deps,
        {"email": "  Boss@Example.com ", "password": "longenough", "name": " Boss "},
        frozenset({"boss@example.com"}),
        CLIENT,
    )
    assert (user.email, user.name, user.role) == ("boss@example.com", "Boss", "admin")
    assert user.password_hash != "longenough"
    assert user.email_verified is False


def test_register_twice_conflicts():
    deps = _accounts()
    _register(deps)
    with pytest.raises(Conflict):
        _register(deps)


def test_wrong_password_and_unknown_email_fail_the_same_way_and_count_as_failures():
    deps = _accounts()
    _register(deps)
    with pytest.raises(Unauthorized) as wrong_password:
        auth.login(deps, {"email": "a@example.com", "password": "wrong-one"}, "s" * 32, 60, CLIENT)
    with pytest.raises(Unauthorized) as unknown:
        auth.login(
            deps, {"email": "nobody@example.com", "password": "longenough"}, "s" * 32, 60, CLIENT
        )
    assert wrong_password.value.message == unknown.value.message
    assert deps.limits.failures == ["a@example.com", "nobody@example.com"]


def test_login_returns_a_bearer_token():
    deps = _accounts()
    _register(deps)
    result = auth.login(
        deps, {"email": "A@example.com", "password": "longenough"}, "s" * 32, 60, CLIENT
    )
    assert result.to_dict()["token_type"] == "Bearer"
    assert result.expires_in == 60


def test_a_locked_out_email_is_refused_before_the_password_is_checked():
    deps = _accounts()
    _register(deps)
    deps.limits.locked.add("a@example.com")
    with pytest.raises(RateLimited) as refused:
        auth.login(deps, {"email": "a@example.com", "password": "longenough"}, "s" * 32, 60, CLIENT)
    assert refused.value.retry_after == 60
    assert deps.limits.failures == []


def _link_token(request):
    return parse_qs(urlsplit(request.values["link"]).query)["token"][0]


def test_registration_queues_a_link_that_verifies_once_and_welcomes_once():
    deps = _accounts()
    user = _register(deps)
    (mail,) = deps.outbox.queued
    assert mail.kind == "verification" and mail.to == "a@example.com"
    assert mail.values["link"].startswith("https://api.example.test/api/auth/verify-email?token=")
    token = _link_token(mail)
    assert hash_token(token) in deps.users.tokens  # only the hash is stored
    assert token not in str(deps.users.tokens)

    answer = auth.verify_email(deps, token)
    assert answer["verified_at"] == deps.users.get(user.user_id).email_verified_at
    assert [m.kind for m in deps.outbox.queued] == ["verification", "welcome"]
    assert deps.held_reports.released == [user.user_id]
    with pytest.raises(InvalidToken):
        auth.verify_email(deps, token)


@pytest.mark.parametrize("token", ["", "x", "A" * 43, "\u202e", "a" * 512])
def test_unknown_tokens_are_invalid(token):
    with pytest.raises(InvalidToken):
        auth.verify_email(_accounts(), token)


def test_an_expired_token_is_invalid_and_verifies_nothing():
    clock = [1_000_000.0]
    deps = _accounts(clock=lambda: clock[0])
    user = _register(deps)
    clock[0] += 86_400  # exactly the TTL: expired
    with pytest.raises(InvalidToken):
        auth.verify_email(deps, _link_token(deps.outbox.queued[0]))
    assert deps.users.get(user.user_id).email_verified is False


def test_resend_is_refused_once_verified_and_counts_only_real_resends():
    deps = _accounts()
    user = _register(deps)
    assert auth.resend_verification(deps, user.user_id, CLIENT)["email"] == "a@example.com"
    assert deps.limits.resends == 1
    auth.verify_email(deps, _link_token(deps.outbox.queued[-1]))
    with pytest.raises(Conflict):
        auth.resend_verification(deps, user.user_id, CLIENT)
    assert deps.limits.resends == 1


def test_a_resend_the_outbox_refuses_is_the_clients_error_but_a_registration_is_not():
    deps = _accounts()
    deps.outbox.refuse = True
    user = _register(deps)  # the account exists; the link can be resent
    with pytest.raises(DependencyUnavailable):
        auth.resend_verification(deps, user.user_id, CLIENT)


def test_signin_alerts_go_to_verified_addresses_within_their_limit():
    deps = _accounts(limits=FakeLimits(alerts_left=1))
    user = _register(deps)
    login = {"email": "a@example.com", "password": "longenough"}
    auth.login(deps, login, "s" * 32, 60, CLIENT)
    assert [m.kind for m in deps.outbox.queued] == ["verification"]  # unverified: no alert
    auth.verify_email(deps, _link_token(deps.outbox.queued[0]))
    auth.login(deps, login, "s" * 32, 60, CLIENT)
    auth.login(deps, login, "s" * 32, 60, CLIENT)  # over the limit: no second alert
    alerts = [m for m in deps.outbox.queued if m.kind == "signin_alert"]
    assert len(alerts) == 1
    assert alerts[0].values["ip"] == "203.0.113.*"
    assert alerts[0].key.startswith(f"signin:{user.user_id}:")


class _BrokenHeldReports(FakeHeldReports):
    def release(self, user_id):
        raise DependencyUnavailable("redis is down")


def test_verification_succeeds_when_the_waiting_report_cannot_be_released():
    """Redis down at that moment: verified all the same; the waiting record's expiry sweep
    re-reads the user and sends the report then (reports.md)."""
    deps = _accounts(held_reports=_BrokenHeldReports())
    user = _register(deps)
    auth.verify_email(deps, _link_token(deps.outbox.queued[0]))
    assert deps.users.get(user.user_id).email_verified
    assert [m.kind for m in deps.outbox.queued] == ["verification", "welcome"]


def test_a_new_address_gets_a_link_and_a_verified_old_one_a_notice():
    deps = _accounts()
    user = _register(deps)
    auth.verify_email(deps, _link_token(deps.outbox.queued[0]))
    moved = auth.update_profile(deps, user.user_id, "b@example.com", None, CLIENT)
    assert (moved.email, moved.email_verified) == ("b@example.com", False)
    kinds = [(m.kind, m.to) for m in deps.outbox.queued[-2:]]
    assert kinds == [("verification", "b@example.com"), ("email_changed", "a@example.com")]
    assert deps.limits.resends == 1
    # The old address's link no longer verifies anything; the new one does.
    auth.verify_email(deps, _link_token(deps.outbox.queued[-2]))
    assert deps.users.get(user.user_id).email_verified


def test_an_unverified_old_address_gets_no_notice_and_a_name_alone_sends_nothing():
    deps = _accounts()
    user = _register(deps)
    auth.update_profile(deps, user.user_id, None, "Renamed", CLIENT)
    auth.update_profile(deps, user.user_id, "a@example.com", None, CLIENT)  # the same address
    assert [m.kind for m in deps.outbox.queued] == ["verification"]
    auth.update_profile(deps, user.user_id, "c@example.com", None, CLIENT)
    assert [m.kind for m in deps.outbox.queued] == ["verification", "verification"]
    assert deps.users.get(user.user_id).name == "Renamed"


def test_an_empty_profile_patch_is_refused():
    deps = _accounts()
    user = _register(deps)
    with pytest.raises(ValidationFailed):
        auth.update_profile(deps, user.user_id, None, None, CLIENT)
