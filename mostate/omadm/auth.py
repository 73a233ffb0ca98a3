"""OMA-DM authentication: Basic and MD5 digest credentials in the header, HMAC-MD5 in the
transport header, and the nonces both sides keep between messages and sessions.

The formulas are those of OMA-TS-DM_Security-V1_2, section 5.4 (``H`` is MD5, ``B64`` Base64):

* Basic: ``B64(name:secret)``;
* MD5 digest: ``B64(H(B64(H(name:secret)):nonce))``, the nonce being the bytes the peer last
  sent, Base64-encoded, in a Chal's NextNonce;
* HMAC: ``B64(H(B64(H(name:secret)):nonce:B64(H(body))))``, sent in the HTTP header
  ``x-syncml-hmac: algorithm=MD5, username="name", mac=...``.

MD5 is what the protocol prescribes; it is not a choice made here. Every comparison of a secret
value is made in constant time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import secrets

import attrs

from .messages import Chal, Cred


class AuthType(enum.Enum):
    """The credential types a DM account names (DMAcc AAuthType) and their Meta Type."""

    BASIC = "syncml:auth-basic"
    MD5 = "syncml:auth-md5"
    HMAC = "syncml:auth-MAC"

    @classmethod
    def parse(cls, text: str) -> AuthType:
        """``basic``, ``md5``/``digest`` or ``hmac``, or a Meta Type."""
        aliases = {"basic": cls.BASIC, "md5": cls.MD5, "digest": cls.MD5, "hmac": cls.HMAC}
        found = aliases.get(text.lower()) or next((t for t in cls if t.value == text), None)
        if found is None:
            raise ValueError(f"unknown authentication type {text!r} (basic, md5 or hmac)")
        return found


@attrs.frozen
class Secret:
    """A name and a secret one side proves it knows (a DMAcc AAuthName and AAuthSecret)."""

    name: str
    secret: str = attrs.field(repr=False)


def new_nonce() -> bytes:
    """A fresh nonce: 16 random bytes."""
    return secrets.token_bytes(16)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str | None) -> bytes:
    """The bytes of a Base64 text; an invalid or missing one is no nonce at all (``b""``)."""
    if not text:
        return b""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except ValueError:
        return b""


def challenge(kind: AuthType, nonce: bytes) -> Chal:
    """The Chal asking the peer to authenticate with ``kind``, its next digest over ``nonce``.

    >>> challenge(AuthType.MD5, b"abc").next_nonce
    'YWJj'
    """
    return Chal(kind.value, b64(nonce) if kind is not AuthType.BASIC else None)


def basic(who: Secret) -> Cred:
    """Basic credentials.

    >>> basic(Secret("funambol", "funambol")).data
    'ZnVuYW1ib2w6ZnVuYW1ib2w='
    """
    return Cred(AuthType.BASIC.value, b64(f"{who.name}:{who.secret}".encode()))


def md5(who: Secret, nonce: bytes) -> Cred:
    """MD5 digest credentials over ``nonce``."""
    return Cred(AuthType.MD5.value, _digest(who, nonce))


def credentials(kind: AuthType, who: Secret, nonce: bytes) -> Cred:
    """The header credentials of ``kind`` (HMAC goes in the transport: Basic stands in)."""
    return md5(who, nonce) if kind is AuthType.MD5 else basic(who)


def verify(cred: Cred | None, kind: AuthType, who: Secret, nonce: bytes) -> bool:
    """Whether ``cred`` proves ``who`` with ``kind`` over ``nonce``.

    >>> alice = Secret("alice", "s3cret")
    >>> verify(md5(alice, b"n1"), AuthType.MD5, alice, b"n1")
    True
    >>> verify(md5(alice, b"n1"), AuthType.MD5, alice, b"n2")
    False
    """
    if cred is None or cred.type != kind.value:
        return False
    expected = credentials(kind, who, nonce).data
    return hmac.compare_digest(cred.data.encode(), expected.encode())


def _h(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def _digest(who: Secret, nonce: bytes, *extra: bytes) -> str:
    inner = b64(_h(f"{who.name}:{who.secret}".encode())).encode()
    return b64(_h(b":".join((inner, nonce, *extra))))


HMAC_HEADER = "x-syncml-hmac"
_HMAC_FIELDS = re.compile(r'\s*(\w+)\s*=\s*("([^"]*)"|[^,\s]*)\s*(,|$)')


def hmac_header(who: Secret, nonce: bytes, body: bytes) -> str:
    """The value of the ``x-syncml-hmac`` transport header for ``body``."""
    mac = _digest(who, nonce, b64(_h(body)).encode())
    return f'algorithm=MD5, username="{who.name}", mac={mac}'


def verify_hmac(header: str | None, who: Secret, nonce: bytes, body: bytes) -> bool:
    """Whether an ``x-syncml-hmac`` header value proves ``who`` sent ``body``.

    >>> bob = Secret("bob", "pw")
    >>> verify_hmac(hmac_header(bob, b"n", b"<SyncML/>"), bob, b"n", b"<SyncML/>")
    True
    >>> verify_hmac(hmac_header(bob, b"n", b"<SyncML/>"), bob, b"n", b"<SyncML>x</SyncML>")
    False
    """
    if header is None or len(header) > 1024:
        return False
    fields = {m.group(1).lower(): m.group(3) or m.group(2) for m in _HMAC_FIELDS.finditer(header)}
    if fields.get("algorithm", "MD5").upper() != "MD5" or fields.get("username") != who.name:
        return False
    expected = hmac_header(who, nonce, body).rpartition("mac=")[2]
    return hmac.compare_digest(fields.get("mac", "").encode(), expected.encode())
