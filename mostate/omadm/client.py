"""A device's side of one OMA-DM session: package 1 out, each server package processed.

:class:`DeviceSession` opens with package 1 (Alert 1201, its DevInfo in a Replace, its
credentials), answers a challenge by sending package 1 again, checks the server's credentials
on every message, runs the server's commands with :class:`~.device.Device` (the CCS tree and
its spec), and ends when the server sends no more commands. Its :attr:`state` is the device's
CCS state after the last package; saving it before each answer is the caller's part.

It never answers a challenge with a weaker authentication than it was configured with (a
server, or someone in between, that asks an MD5 device for Basic would get its secret), and it
sends its credentials with every message, over the nonce of the server's last answer.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping

import attrs

from ..model import DeviceState
from .auth import AuthType, challenge, credentials, new_nonce, unb64, verify
from .device import NO_USER, Device, Held, Ui
from .messages import (
    Alert,
    BodyElement,
    Item,
    Meta,
    Package,
    Replace,
    Status,
    SyncHdr,
)
from .session import (
    AUTH_ACCEPTED,
    INVALID_CREDENTIALS,
    MISSING_CREDENTIALS,
    NEXT_MESSAGE,
    NO_NONCES,
    Account,
    Nonces,
    fit,
    max_msg_size,
)

log = logging.getLogger(__name__)

MAX_RETRIES = 3
"""How many times package 1 is sent again after a challenge before the device gives up."""
_CHR = Meta("chr", "text/plain")


DEVINFO = "./DevInfo/"


def standard_tree(device_id: str, account: Account, server_url: str) -> dict[str, str]:
    """The read-only nodes a simulated device shows besides its CCS services: DevInfo and
    DevDetail (DM Standardized Objects 1.2) and its DMAcc account, secrets left out.

    >>> tree = standard_tree("sim-1", Account(server_id="op"), "http://dm.example/")
    >>> tree["./DevInfo/DevId"], tree["./DMAcc/op/AppAddr/1/Addr"]
    ('sim-1', 'http://dm.example/')
    """
    acc = f"./DMAcc/{account.server_id}"
    return {
        "./DevInfo/DevId": device_id,
        "./DevInfo/Man": "mostate",
        "./DevInfo/Mod": "simulated device",
        "./DevInfo/DmV": "1.2",
        "./DevInfo/Lang": "en",
        "./DevDetail/DevTyp": "phone",
        "./DevDetail/OEM": "mostate",
        "./DevDetail/FwV": "1.0",
        "./DevDetail/SwV": "1.0",
        "./DevDetail/HwV": "1.0",
        f"{acc}/ServerID": account.server_id,
        f"{acc}/Name": account.server_id,
        f"{acc}/AppAddr/1/Addr": server_url,
        f"{acc}/AppAddr/1/AddrType": "URI",
        f"{acc}/AppAuth/CLCRED/AAuthType": account.client_auth.name,
        f"{acc}/AppAuth/CLCRED/AAuthName": account.client.name,
        f"{acc}/AppAuth/SRVCRED/AAuthType": account.server_auth.name,
        f"{acc}/AppAuth/SRVCRED/AAuthName": account.server.name,
    }


class DeviceSession:
    """One session of a simulated device with a server.

    >>> from mostate import Engine, load_spec
    >>> s = DeviceSession(Device(Engine(load_spec())), DeviceState(), Account(), "dev1")
    >>> [c.NAME for c in s.first().commands()]
    ['Alert', 'Replace']
    """

    def __init__(
        self,
        device: Device,
        state: DeviceState,
        account: Account,
        device_id: str,
        *,
        server_url: str = "http://127.0.0.1:8080/",
        session_id: str | None = None,
        devinfo: Mapping[str, str] | None = None,
        nonces: Nonces = NO_NONCES,
        ui: Ui = NO_USER,
        max_msg_size: int = 16_384,
    ) -> None:
        self.device, self.state, self.account = device, state, account
        self.device_id, self.server_url = device_id, server_url
        self.session_id = session_id or f"{secrets.randbelow(0xFFFF) + 1:X}"
        own = {k[len(DEVINFO) :]: v for k, v in device.fixed.items() if k.startswith(DEVINFO)}
        self.devinfo = dict(devinfo or own or {"DevId": device_id, "Man": "mostate", "Mod": "sim"})
        self.nonces, self.ui, self.max_msg_size = nonces, ui, max_msg_size
        self.client_auth = account.client_auth
        self.done = False
        self.refused: str | None = None
        self._msg_id = 0
        self._retries = 0
        self._server_max: int | None = None
        self._pending: tuple[BodyElement, ...] = ()
        self._chunks: dict[str, Held] = {}

    def first(self) -> Package:
        """Package 1: the client-initiated session alert and the device's DevInfo."""
        items = tuple(
            Item(source=f"./DevInfo/{name}", meta=_CHR, data=value)
            for name, value in sorted(self.devinfo.items())
        )
        body = (Alert("1", "1201"), Replace("2", items))
        return Package(self._header(), body)

    def receive(self, package: Package) -> Package | None:
        """The answer to a server package, or None when the session is over."""
        statuses = [s for s in package.statuses() if s.cmd_ref == "0"]
        if statuses and statuses[0].code in (INVALID_CREDENTIALS, MISSING_CREDENTIALS):
            return self._again(statuses[0])
        if statuses and statuses[0].chal is not None:
            self.nonces = attrs.evolve(self.nonces, for_client=unb64(statuses[0].chal.next_nonce))
        # HMAC is in the transport header: the caller checks it before handing the package in.
        trusted = self.account.server_auth is AuthType.HMAC or verify(
            package.header.cred,
            self.account.server_auth,
            self.account.server,
            self.nonces.for_server,
        )
        self._server_max = max_msg_size(package.header) or self._server_max
        more = tuple(c for c in package.commands() if _next_message(c))
        commands = tuple(c for c in package.commands() if not _next_message(c))
        if not commands and package.final and not (more and self._pending):
            self.done = True
            return None
        nonce = new_nonce()
        chal = challenge(self.account.server_auth, nonce)
        if not trusted:
            log.info("%s: the server's credentials are refused", self.device_id)
            status = Status(
                "1",
                package.header.msg_id,
                "0",
                "SyncHdr",
                INVALID_CREDENTIALS,
                (package.header.target,),
                (package.header.source,),
                chal=chal,
            )
            self.nonces = attrs.evolve(self.nonces, for_server=nonce)
            return Package(self._header(), (status,))
        ours = tuple(e for e in package.body if not _next_message(e))
        after, response = self.device.process(
            self.state,
            attrs.evolve(package, body=ours),
            self.account.server_id,
            self.ui,
            self._chunks,
        )
        self.state = after
        self.nonces = attrs.evolve(self.nonces, for_server=nonce)
        head, *rest = response.body
        assert isinstance(head, Status)  # Device.process always answers the header first
        head = attrs.evolve(head, code=AUTH_ACCEPTED if head.code == 200 else head.code, chal=chal)
        answers: list[BodyElement] = [*self._pending, *rest]
        if not package.final:  # the server has more of this package: ask for it
            answers.append(Alert(str(len(rest) + 2), NEXT_MESSAGE))
        message = Package(self._header(), (head,))
        sent, self._pending = fit(message, tuple(answers), self._server_max)
        return Package(message.header, (head, *sent), final=not self._pending)

    def _again(self, status: Status) -> Package | None:
        self._retries += 1
        if self._retries > MAX_RETRIES:
            self.done = True
            self.refused = f"the server refused the credentials ({status.code})"
            return None
        if status.chal is not None:
            try:
                asked = AuthType.parse(status.chal.type)
            except ValueError:
                asked = self.client_auth
            if asked.strength < self.account.client_auth.strength:
                self.done = True
                self.refused = (
                    f"the server asked for {asked.name} authentication, weaker than the "
                    f"configured {self.account.client_auth.name}: refused"
                )
                log.warning("%s: %s", self.device_id, self.refused)
                return None
            self.client_auth = asked
            self.nonces = attrs.evolve(self.nonces, for_client=unb64(status.chal.next_nonce))
        return self.first()

    def _header(self) -> SyncHdr:
        self._msg_id += 1
        cred = None
        if self.client_auth is not AuthType.HMAC:
            cred = credentials(self.client_auth, self.account.client, self.nonces.for_client)
        return SyncHdr(
            self.session_id,
            str(self._msg_id),
            target=self.server_url,
            source=self.device_id,
            max_msg_size=str(self.max_msg_size),
            cred=cred,
        )


def _next_message(element: BodyElement) -> bool:
    """An Alert 1222: the peer asks for the next message of the package being sent."""
    return isinstance(element, Alert) and element.code == NEXT_MESSAGE
