"""Access keys: an API key for reading, an admin key for ingest and delete, read from env or a key file.

    access = Access.from_settings(settings)
    access.check_reader(request_key)      # raises AccessError (401) when the key is wrong or missing
    access.check_admin(request_key)

With no keys set, everything is open (the server then listens on loopback, or was started --insecure).
Any key set closes the server: reading then needs the API key or the admin key (so with only an admin
key, only its holder reads), and with only an API key, admin operations are switched off (403) until an
admin key is set. Keys are compared in constant time and never printed or logged. `require_reader`
and `require_admin` are the routes' dependencies.
"""

from __future__ import annotations

import hmac
import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rag import Settings
from rag.errors import AccessError, ConfigError, ForbiddenError

log = logging.getLogger("rag.auth")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
bearer = HTTPBearer(auto_error=False, description="The API key (NEWSRAG_API_KEY); ingest and delete need the admin key.")


@dataclass(frozen=True)
class Access:
    """The keys a server checks (None: not set)."""

    api_key: str | None = field(default=None, repr=False)
    admin_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Access:
        return cls(
            api_key=_key(settings.api_key, settings.api_key_file, "api_key"),
            admin_key=_key(settings.admin_key, settings.admin_key_file, "admin_key"),
        )

    @property
    def enabled(self) -> bool:
        """Whether any key is set (the server is not open)."""
        return bool(self.api_key or self.admin_key)

    def check_reader(self, given: str | None) -> None:
        """Allow reading with the API key or the admin key; open only when no key at all is set."""
        if not self.enabled:
            return
        if not (_same(given, self.api_key) or _same(given, self.admin_key)):
            raise AccessError(_missing(given, "the API key (NEWSRAG_API_KEY)" if self.api_key else
                                       "the admin key (NEWSRAG_ADMIN_KEY): this server has no separate API key"))

    def check_admin(self, given: str | None) -> None:
        """Allow ingest and delete with the admin key; open only when no key at all is set."""
        if self.admin_key:
            if not _same(given, self.admin_key):
                raise AccessError(_missing(given, "the admin key (NEWSRAG_ADMIN_KEY)"))
            return
        if self.api_key:
            raise ForbiddenError("ingest and delete are switched off on this server: it has an API key but no "
                                 "admin key; set NEWSRAG_ADMIN_KEY (or admin_key_file) and restart it")

    def is_key(self, given: str | None) -> bool:
        """Whether `given` is one of the keys set (the API key or the admin key)."""
        return _same(given, self.api_key) or _same(given, self.admin_key)

    def describe(self) -> str:
        """Who may do what, in words (for the start-up line)."""
        if self.api_key and self.admin_key:
            return "reading needs the API key, changes the admin key"
        if self.admin_key:
            return "reading and changes need the admin key (no separate API key is set)"
        if self.api_key:
            return "reading needs the API key; changes are off (no admin key is set)"
        return "open: no key set, anyone who reaches it can read and change the library"

    def role(self, username: str, password: str) -> str | None:
        """The chat login: user 'admin' with the admin key, any other name with the API key."""
        if username == "admin":
            return "admin" if self.admin_key and _same(password, self.admin_key) else None
        return "reader" if self.api_key and _same(password, self.api_key) else None


def require_reader(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
    """Dependency: the API key (or the admin key) when the server has one."""
    access_of(request).check_reader(credentials.credentials if credentials else None)


def require_admin(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
    """Dependency: the admin key (ingest, upload, delete)."""
    access_of(request).check_admin(credentials.credentials if credentials else None)


def access_of(request: Request) -> Access:
    """The keys the app checks (`create_app` puts them on the app)."""
    return request.app.state.access  # type: ignore[no-any-return]


def bearer_token(authorization: str | None) -> str | None:
    """The KEY of an `Authorization: Bearer KEY` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def is_loopback(host: str) -> bool:
    """Whether a listen address only accepts connections from this machine."""
    import ipaddress

    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _same(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _missing(given: str | None, what: str) -> str:
    if given:
        return f"the key given is not {what}"
    return f"this call needs {what}: send the header 'Authorization: Bearer KEY'"


def _key(value: object, path: Path | None, name: str) -> str | None:
    """A key from the settings (env) or its file; both set, an empty or unreadable file are errors."""
    secret = value.get_secret_value().strip() if value is not None else None  # type: ignore[attr-defined]
    if value is not None and path is not None:
        raise ConfigError(f"both NEWSRAG_{name.upper()} and {name}_file are set; keep one of them")
    if path is None:
        if value is not None and not secret:
            raise ConfigError(f"NEWSRAG_{name.upper()} is set but empty; give a key or unset it")
        return secret or None
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8").strip()
        mode = Path(path).expanduser().stat().st_mode
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{name}_file {path}: cannot read the key ({getattr(exc, 'strerror', None) or exc})") from None
    if not text:
        raise ConfigError(f"{name}_file {path} is empty; write the key into it")
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and os.name == "posix":
        log.warning("key file %s can be read by other users; chmod 600 it", path)
    return text
