"""Fixtures for the OMA-DM binding tests: the engine, both flag bindings, the real packets."""

from __future__ import annotations

from pathlib import Path

import pytest

from mostate import DeviceState, Engine, load_spec
from mostate.omadm import (
    Device,
    FlagBinding,
    Package,
    SyncHdr,
    TreeConfig,
    Ui,
    parse_package,
    write_package,
)
from mostate.omadm.device import NO_USER
from mostate.omadm.messages import Command

# The store's fixtures (a throwaway PostgreSQL server), shared by test_store and test_http.
from tests.omadm.postgres import new_database, postgres_server, restart_postgres, store_at

__all__ = ["new_database", "postgres_server", "restart_postgres", "store_at"]

DATA = Path(__file__).resolve().parent.parent / "data" / "syncml"


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine(load_spec())


@pytest.fixture(params=list(FlagBinding), ids=lambda b: b.value)
def tree(request: pytest.FixtureRequest) -> TreeConfig:
    """Every behaviour of the flags is tested in both bindings."""
    binding: FlagBinding = request.param
    return TreeConfig(flags=binding)


@pytest.fixture
def device(engine: Engine, tree: TreeConfig) -> Device:
    return Device(engine, tree)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


class Runner:
    """Runs commands through a device in one package, and reads the answers back."""

    def __init__(self, device: Device) -> None:
        self.device = device

    def __call__(
        self,
        state: DeviceState,
        *commands: Command,
        server_id: str = "srv1",
        ui: Ui = NO_USER,
    ) -> tuple[DeviceState, list[tuple[str, int]], Package]:
        """The next state, (command, code) for each Status after the header's, and the
        response; the package goes through the XML codec both ways."""
        package = Package(SyncHdr("1", "1", "device", server_id), commands)
        after, response = self.device.process(state, write_package(package), ui=ui)
        response = parse_package(write_package(response))
        codes = [(s.cmd, s.code) for s in response.statuses()[1:]]
        return after, codes, response


@pytest.fixture
def run(device: Device) -> Runner:
    return Runner(device)
