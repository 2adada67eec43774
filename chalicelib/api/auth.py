"""Routes: registration, login, email verification, and the caller's profile."""

from __future__ import annotations

from chalice import Blueprint, Response
from chalice.app import Request

from chalicelib import wiring
from chalicelib.accounts import service as accounts
from chalicelib.api.http import caller, route, source_ip
from chalicelib.api.schemas import (
    LoginIn,
    PreferencesOut,
    PreferencesPatch,
    ProfilePatch,
    RegistrationIn,
    TokenOut,
    UserOut,
    VerificationSentOut,
    VerifiedOut,
    VerifyEmailQuery,
)
from chalicelib.platform.errors import NotFound

auth_bp = Blueprint(__name__)

# Where links point when neither PUBLIC_BASE_URL nor API Gateway says (the local API).
LOCAL_BASE_URL = "http://127.0.0.1:8000"


def link_base_url(request: Request) -> str:
    """``PUBLIC_BASE_URL``, else the API Gateway address this request came through.

    Never the ``Host`` header: a client chooses it, and a link built from it would send
    another person's token to the client's server. API Gateway's ``domainName`` and ``stage``
    are set by AWS.
    """
    configured = wiring.settings().public_base_url
    if configured:
        return configured
    context = request.context or {}
    domain, stage = context.get("domainName"), context.get("stage")
    if isinstance(domain, str) and domain and isinstance(stage, str) and stage:
        return f"https://{domain}/{stage}"
    return LOCAL_BASE_URL


def _client(request: Request) -> accounts.Client:
    return accounts.Client(
        base_url=link_base_url(request),
        ip=source_ip(request),
        user_agent=request.headers.get("user-agent"),
    )


@route(
    auth_bp,
    "/auth/register",
    ["POST"],
    public=True,
    body=RegistrationIn,
    ok={201: UserOut},
    errors=(409, 429),
)
def register(body: RegistrationIn) -> Response:
    """Create an account and email a link that verifies its address.

    The email is trimmed and lower-cased; 409 when it is taken. The answer says
    ``email_verified: false``; reports are emailed once the link was followed.
    """
    user = accounts.register(
        wiring.account_dependencies(),
        body.model_dump(),
        wiring.settings().admin_emails,
        _client(auth_bp.current_request),
    )
    return Response(body=user.to_dict(), status_code=201)


@route(
    auth_bp,
    "/auth/login",
    ["POST"],
    public=True,
    body=LoginIn,
    ok={200: TokenOut},
    errors=(401, 429),
)
def login(body: LoginIn) -> dict[str, object]:
    """Exchange email and password for an access token.

    A wrong email and a wrong password get the same 401. After 5 failed attempts for one
    email in 15 minutes, every attempt for it gets 429 until the window passes.
    """
    result = accounts.login(
        wiring.account_dependencies(),
        body.model_dump(),
        wiring.signing_secret(),
        wiring.settings().jwt_ttl_seconds,
        _client(auth_bp.current_request),
    )
    return result.to_dict()


@route(
    auth_bp,
    "/auth/verify-email",
    ["GET"],
    public=True,
    query=VerifyEmailQuery,
    ok={200: VerifiedOut},
)
def verify_email(query: VerifyEmailQuery) -> dict[str, str]:
    """Follow the emailed verification link.

    400 ``invalid_token`` for an unknown, used or expired token. The first verification of an
    account sends the welcome email; reports that waited for the address go out at the next
    report run.
    """
    return accounts.verify_email(wiring.account_dependencies(), query.token)


@route(
    auth_bp,
    "/auth/resend-verification",
    ["POST"],
    ok={202: VerificationSentOut},
    errors=(404, 409, 429),
)
def resend_verification() -> Response:
    """Email a new verification link to the caller's address.

    409 when the address is verified already; 429 beyond 1 a minute or 5 a day.
    """
    request = auth_bp.current_request
    body = accounts.resend_verification(
        wiring.account_dependencies(), caller(request).user_id, _client(request)
    )
    return Response(body=body, status_code=202)


@route(auth_bp, "/users/me", ["GET"], ok={200: UserOut}, errors=(404,))
def me() -> dict[str, object]:
    """The caller's profile."""
    user = wiring.user_repository().get(caller(auth_bp.current_request).user_id)
    if user is None:  # the account was removed after the token was issued
        raise NotFound("user not found")
    return user.to_dict()


@route(
    auth_bp,
    "/users/me",
    ["PATCH"],
    body=ProfilePatch,
    ok={200: UserOut},
    errors=(404, 409, 429),
)
def update_me(body: ProfilePatch) -> dict[str, object]:
    """Change the caller's name and/or email address.

    A new address must be verified again (a link goes to it, a notice to the old one); reports
    wait until it is. 409 when another account has it; 429 beyond the verification-email limit
    (`RESEND_VERIFICATION_LIMIT`).
    """
    request = auth_bp.current_request
    user = accounts.update_profile(
        wiring.account_dependencies(),
        caller(request).user_id,
        body.email,
        body.name,
        _client(request),
    )
    return user.to_dict()


@route(auth_bp, "/users/me/preferences", ["GET"], ok={200: PreferencesOut}, errors=(404,))
def preferences() -> dict[str, bool]:
    """Which emails the caller gets (all on until turned off)."""
    user = wiring.user_repository().get(caller(auth_bp.current_request).user_id)
    if user is None:
        raise NotFound("user not found")
    return user.preferences.to_dict()


@route(
    auth_bp,
    "/users/me/preferences",
    ["PATCH"],
    body=PreferencesPatch,
    ok={200: PreferencesOut},
    errors=(404,),
)
def update_preferences(body: PreferencesPatch) -> dict[str, bool]:
    """Turn emails on or off: `reports`, `weekly_summary`, `signin_alerts` (JSON booleans).

    With reports off, the next report run consumes the status record without sending (the
    report history says why).
    """
    return accounts.update_preferences(
        wiring.account_dependencies(), caller(auth_bp.current_request).user_id, body.changes()
    )
