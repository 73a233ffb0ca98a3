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

A verifier needs no secret in clear: a :class:`Key` keeps a name and ``B64(H(name:secret))``,
which is all an MD5 digest or an HMAC is computed from, and what a Basic credential is checked
against once hashed. A server's store keeps keys, never secrets. Challenge nonces for a device
that has none yet are derived (:func:`challenge_nonce`), so asking a stranger to authenticate
writes nothing.
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

    @property
    def strength(self) -> int:
        """How much a peer that sees the messages learns: Basic shows the secret, MD5 a digest
        over a nonce used once, HMAC also binds the whole message. A device never answers a
        challenge with a weaker type than it was configured with.

        >>> AuthType.BASIC.strength < AuthType.MD5.strength < AuthType.HMAC.strength
        True
        """
        return _STRENGTH[self]


_STRENGTH = {AuthType.BASIC: 0, AuthType.MD5: 1, AuthType.HMAC: 2}


@attrs.frozen
class Secret:
    """A name and a secret one side proves it knows (a DMAcc AAuthName and AAuthSecret)."""

    name: str
    secret: str = attrs.field(repr=False)


@attrs.frozen
class Key:
    """What a verifier keeps of a :class:`Secret`: the name and ``B64(H(name:secret))``.

    >>> key = Key.of(Secret("alice", "s3cret"))
    >>> key.name, len(key.digest), "s3cret" in repr(key)
    ('alice', 24, False)
    """

    name: str
    digest: str = attrs.field(repr=False)

    @classmethod
    def of(cls, who: Secret) -> Key:
        return cls(who.name, _inner(who.name, who.secret))


Proof = Secret | Key
"""A side's credentials as the other side checks them: the secret itself, or its key."""


def key_of(who: Proof) -> Key:
    return who if isinstance(who, Key) else Key.of(who)


def new_nonce() -> bytes:
    """A fresh nonce: 16 random bytes."""
    return secrets.token_bytes(16)


def challenge_nonce(server_key: bytes, device: str, epoch: int, window: int) -> bytes:
    """The nonce a server asks ``device`` to authenticate with when it holds none for it: 16
    bytes no one can predict without ``server_key``, different per device, per session (the
    device's ``epoch`` grows with each authenticated session) and per time ``window``. Derived,
    not stored: a challenge to a stranger costs the server no row.

    >>> key = b"k" * 32
    >>> a = challenge_nonce(key, "dev1", 0, 7)
    >>> len(a), a == challenge_nonce(key, "dev1", 0, 7), a == challenge_nonce(key, "dev2", 0, 7)
    (16, True, False)
    >>> a == challenge_nonce(key, "dev1", 1, 7)
    False
    """
    message = f"{device}\x00{epoch}\x00{window}".encode()
    return hmac.new(server_key, message, hashlib.sha256).digest()[:16]


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


def md5(who: Proof, nonce: bytes) -> Cred:
    """MD5 digest credentials over ``nonce``."""
    return Cred(AuthType.MD5.value, _digest(key_of(who), nonce))


def credentials(kind: AuthType, who: Proof, nonce: bytes) -> Cred | None:
    """The header credentials of ``kind``; None for HMAC, which goes in the transport (a
    header Cred beside it would only show more). Basic needs the secret itself; a :class:`Key`
    cannot make it (ValueError)."""
    if kind is AuthType.HMAC:
        return None
    if kind is AuthType.MD5:
        return md5(who, nonce)
    if isinstance(who, Key):
        raise ValueError(f"{who.name}: Basic credentials need the secret, not its digest")
    return basic(who)


def verify(cred: Cred | None, kind: AuthType, who: Proof, nonce: bytes) -> bool:
    """Whether ``cred`` proves ``who`` with ``kind`` over ``nonce``.

    >>> alice = Secret("alice", "s3cret")
    >>> verify(md5(alice, b"n1"), AuthType.MD5, Key.of(alice), b"n1")
    True
    >>> verify(md5(alice, b"n1"), AuthType.MD5, alice, b"n2")
    False
    >>> verify(basic(alice), AuthType.BASIC, Key.of(alice), b"")
    True
    """
    if cred is None or cred.type != kind.value:
        return False
    key = key_of(who)
    if kind is AuthType.BASIC:
        name, _, secret = _unbasic(cred.data).partition(":")
        presented = _inner(name, secret)
        same_name = hmac.compare_digest(name.encode(), key.name.encode())
        return hmac.compare_digest(presented.encode(), key.digest.encode()) and same_name
    return hmac.compare_digest(cred.data.encode(), _digest(key, nonce).encode())


def _unbasic(data: str) -> str:
    try:
        return base64.b64decode(data.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return ""


def _h(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def _inner(name: str, secret: str) -> str:
    return b64(_h(f"{name}:{secret}".encode()))


def _digest(key: Key, nonce: bytes, *extra: bytes) -> str:
    return b64(_h(b":".join((key.digest.encode(), nonce, *extra))))


HMAC_HEADER = "x-syncml-hmac"
_HMAC_FIELDS = re.compile(r'\s*(\w+)\s*=\s*("([^"]*)"|[^,\s]*)\s*(,|$)')


def hmac_header(who: Proof, nonce: bytes, body: bytes) -> str:
    """The value of the ``x-syncml-hmac`` transport header for ``body``."""
    mac = _digest(key_of(who), nonce, b64(_h(body)).encode())
    return f'algorithm=MD5, username="{who.name}", mac={mac}'


def verify_hmac(header: str | None, who: Proof, nonce: bytes, body: bytes) -> bool:
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
