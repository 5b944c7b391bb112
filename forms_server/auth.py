"""Who is asking, and what may they do: passwords, sessions, tokens, CSRF, roles.

Roles (DESIGN.md security model):

=========  ================================================================
staff      submits forms for its own 管理处 and sees that 管理处's records
quality    runs workflows and reports, submits for any 管理处, sees all records
auditor    reads everything, changes nothing
admin      manages users and API tokens; reads everything
=========  ================================================================

Browsers log in with a session cookie (HttpOnly, SameSite=Lax, Secure when
QMS_SECURE_COOKIES=1); the session lives in the store, so logging out ends it
everywhere. API clients send ``Authorization: Bearer <token>``. Passwords are
hashed with argon2; repeated failures pause logins for that account and address.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.authentication import AuthCredentials, AuthenticationBackend
from starlette.requests import HTTPConnection, Request

from forms_server.errors import HTTPError

ROLES = {"staff": "员工", "quality": "品质管理", "auditor": "审核员", "admin": "管理员"}
#: Roles that submit forms and act on records (auditors and administrators read them only).
ACTING_ROLES = ("staff", "quality")
SESSION_COOKIE = "qms_session"
LOGIN_CSRF_COOKIE = "qms_login_csrf"

_hasher = PasswordHasher()
# A real hash to compare against when the user does not exist, so that the time
# taken does not reveal which usernames exist.
_DUMMY_HASH = _hasher.hash("qms-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """Chinese reason why a new password is not acceptable, or None."""
    if len(password) < 8:
        return "密码至少 8 位"
    if len(password) > 128:
        return "密码不能超过 128 位"
    if password.isdigit() or password.isalpha():
        return "密码应同时包含字母和数字（或符号）"
    return None


# Principals ------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    username: str
    display_name: str
    role: str
    project: str | None
    via: str  # "session" | "token"
    csrf: str = ""
    sid: str = ""
    team: str | None = None  # staff: 客户服务中心, 工程维修班, …

    @classmethod
    def from_user(cls, user: dict, via: str, csrf: str = "", sid: str = "") -> Principal:
        """The principal of a stored user record."""
        return cls(user["username"], user.get("display_name") or user["username"], user["role"],
                   user.get("project"), via, csrf=csrf, sid=sid, team=user.get("team"))  # fmt: skip

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def identity(self) -> str:
        return self.username

    @property
    def role_name(self) -> str:
        return ROLES.get(self.role, self.role)

    def visible_projects(self) -> list[str] | None:
        """The 管理处 whose records this user may read; None means all."""
        return [self.project] if self.role == "staff" else None

    def can_see(self, project: str | None) -> bool:
        projects = self.visible_projects()
        return projects is None or project in projects

    def can_submit(self, project: str | None) -> bool:
        if self.role == "quality":
            return True
        return self.role == "staff" and project == self.project

    @property
    def can_act(self) -> bool:
        """Submits records and acts in the workflows (complaints, re-inspections)."""
        return self.role in ACTING_ROLES

    def actor(self):
        """This user as the complaint workflow sees them."""
        from forms_server.complaints import Actor

        return Actor(self.username, self.role, self.project, self.team)


class AuthBackend(AuthenticationBackend):
    """Reads the bearer token or the session cookie and finds its user."""

    def __init__(self, store):
        self.store = store

    async def authenticate(self, conn: HTTPConnection):
        header = conn.headers.get("authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None
            found = self.store.find_token(token.strip())
            return self._principal(found["username"], "token") if found else None
        sid = conn.cookies.get(SESSION_COOKIE)
        session = self.store.get_session(sid) if sid else None
        return (
            self._principal(session["username"], "session", session["csrf"], sid)
            if session
            else None
        )

    def _principal(self, username: str, via: str, csrf: str = "", sid: str = ""):
        user = self._user(username)
        if user is None:
            return None
        return AuthCredentials(["authenticated"]), Principal.from_user(user, via, csrf, sid)

    def _user(self, username: str) -> dict | None:
        user = self.store.get_user(username)
        return user if user and user.get("active", True) else None


def principal(request: Request) -> Principal:
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        raise HTTPError(401, "请先登录")
    return user


def require(request: Request, *roles: str) -> Principal:
    user = principal(request)
    if roles and user.role not in roles:
        raise HTTPError(
            403, f"此操作需要{'或'.join(ROLES[r] for r in roles)}角色，您的角色是{user.role_name}"
        )
    return user


# CSRF ------------------------------------------------------------------------


def check_csrf(request: Request, form) -> None:
    """Every state-changing browser form carries the session's token (synchronizer token)."""
    user = principal(request)
    if user.via == "token":
        return  # API clients authenticate each request with a bearer token; no ambient cookie
    sent = form.get("csrf_token", "")
    if not isinstance(sent, str) or not user.csrf or not hmac.compare_digest(sent, user.csrf):
        raise HTTPError(403, "页面已过期或来源不明（CSRF 校验失败），请刷新页面后重新提交")


def check_header_csrf(request: Request) -> None:
    """JSON writes made with a session cookie (scripts of the manual) send the token in a header."""
    check_csrf(request, {"csrf_token": request.headers.get("x-csrf-token", "")})


def login_csrf(request: Request) -> str:
    """Token for the login form, before any session exists (double-submit cookie)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)


def check_login_csrf(request: Request, form) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = form.get("csrf_token", "")
    if not cookie or not isinstance(sent, str) or not hmac.compare_digest(sent, cookie):
        raise HTTPError(403, "登录页面已过期（CSRF 校验失败），请刷新页面后重新登录")


# Throttling ------------------------------------------------------------------


class Throttle:
    """Pause logins after ``attempts`` failures within ``window`` seconds, per key."""

    def __init__(self, attempts: int, window: float, clock=time.monotonic):
        self.attempts = attempts
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, *keys: str) -> int:
        """Seconds until a login may be tried again (0 when allowed)."""
        now = self.clock()
        longest = 0.0
        with self._lock:
            for key in keys:
                failures = self._recent(key, now)
                if len(failures) >= self.attempts:
                    longest = max(longest, failures[-1] + self.window - now)
        return int(longest + 0.999)

    def fail(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                self._recent(key, now)
                self._failures.setdefault(key, deque()).append(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        """Failures of ``key`` within the window. Keys without any are forgotten, so that
        a paused address trying name after name does not fill the memory with names."""
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures


def safe_next(target: str | None) -> str:
    """Only local paths after login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/forms/"
    return target
