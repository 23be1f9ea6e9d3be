"""URLs that carry credentials (the source database's, the SMTP server's): where the user name and
password sit in one, and the one way to print such a URL, with every credential masked.

Where the user-info ends: at the URL's last ``@``, so a password may hold a raw ``@``, ``/``, ``?``
or ``#`` (people paste passwords unencoded, and every other reading of such a URL sends part of the
password to the driver as a host name, or prints it). The host is what follows; the user name and
password, split at the first ``:``, are percent-decoded (so a literal ``%`` is written ``%25``). A URL
with no authority (``sqlite:///path``) has no user-info. The price: an ``@`` after the host, in a
database name or a query value, must be written ``%40``: written raw, it ends up in the user-info,
whose password is masked.

``masked_url`` prints the user name, ``***`` for the password, and ``***`` for the value of every
query parameter whose name looks like a credential (``password``, ``sslpassword``, ``token``,
``api_key``, ...). A text that is not a ``scheme://`` URL at all is not printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

MASK = "***"
UNPARSEABLE = "<not a scheme:// URL; not shown>"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://(.*)", re.DOTALL)
_SECRET_PARAMETER = re.compile(r"pass|pwd|secret|token|key|credential|auth|signature", re.IGNORECASE)


@dataclass(frozen=True)
class UrlCredentials:
    """A URL taken apart at its user-info. ``rest`` is the URL after it (host, port, path, query) as
    written; ``username`` and ``password`` are decoded, None when absent."""

    scheme: str
    username: str | None
    password: str | None
    rest: str

    def __repr__(self) -> str:
        return f"UrlCredentials({self.masked()!r})"

    def with_encoded_credentials(self) -> str:
        """The URL with its user name and password percent-encoded, as any URL parser reads it."""
        if self.username is None:
            return f"{self.scheme}://{self.rest}"
        password = "" if self.password is None else ":" + quote(self.password, safe="")
        return f"{self.scheme}://{quote(self.username, safe='')}{password}@{self.rest}"

    def masked(self) -> str:
        rest = _masked_query(self.rest)
        if self.username is None:
            return f"{self.scheme}://{rest}"
        in_user = _QUERY_INSIDE.search(self.username)
        in_password = _QUERY_INSIDE.search(self.password or "") and not re.search(r"[/:]", self.rest)
        if in_user or in_password:
            # A "?name=" before the last "@", and no host:port or path after it: that "@" was a query
            # value's, so the tail of a password may stand where the host should. Nothing is shown.
            return f"{self.scheme}://{MASK}"
        if self.password is None and _NOT_A_USER_NAME.search(self.username):
            # The last "@" was not the user-info's (a raw "@" further on, in a query value, say): what
            # stands before it may hold a password, so none of it is shown.
            return f"{self.scheme}://{MASK}@{rest}"
        password = "" if self.password is None else f":{MASK}"
        return f"{self.scheme}://{quote(self.username, safe='')}{password}@{rest}"


_NOT_A_USER_NAME = re.compile(r"[/?#=&]")
_QUERY_INSIDE = re.compile(r"[?&][^=?&#]*=")


def split_credentials(url: str) -> UrlCredentials | None:
    """``url`` taken apart at its user-info, or None when it is not a ``scheme://`` URL."""
    match = _SCHEME.fullmatch(url)
    if match is None:
        return None
    scheme, after = match.groups()
    end = _user_info_end(after)
    if end is None:
        return UrlCredentials(scheme, None, None, after)
    username, colon, password = after[:end].partition(":")
    return UrlCredentials(scheme, unquote(username), unquote(password) if colon else None, after[end + 1 :])


def masked_url(url: str) -> str:
    """``url`` safe to print: password and credential-like query values replaced by ``***``."""
    parts = split_credentials(url)
    return UNPARSEABLE if parts is None else parts.masked()


def _user_info_end(after: str) -> int | None:
    """The index of the ``@`` that ends the user-info in ``after`` (the URL past ``://``), or None."""
    if after.startswith("/") or "@" not in after:  # sqlite:///path has no authority at all
        return None
    return after.rindex("@")


def _masked_query(rest: str) -> str:
    head, question, query = rest.partition("?")
    if not question:
        return rest
    query, hash_, fragment = query.partition("#")
    masked = []
    for parameter in query.split("&"):
        name, equals, _ = parameter.partition("=")
        secret = equals and _SECRET_PARAMETER.search(unquote(name))
        masked.append(f"{name}={MASK}" if secret else parameter)
    return f"{head}?{'&'.join(masked)}{hash_}{fragment}"
