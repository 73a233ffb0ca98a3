"""The CCS decision table written by hand, as a device vendor would: the benchmark's baseline.

It works on the same values as the engine (DeviceState in, status and DeviceState out) so that
the benchmark compares deciding, not converting. It is also an independent model of the decision
table: tests/core/test_handwritten.py checks that the engine agrees with it on random traces.
"""

from __future__ import annotations

from mostate import DeviceState, FrozenMap, Instance, Request, Role, Service, Status
from mostate.model import Confirm


def _is_name(value: object) -> bool:
    return isinstance(value, str) and value != "" and not any(c in value for c in "/?\x00")


def _bad(value: object, kind: type) -> bool:
    return not isinstance(value, kind)


def decide(state: DeviceState, req: Request) -> tuple[Status, DeviceState, object]:
    """Status, next state and query result for one request."""
    op, svc_name, name = req.op, req.service, req.instance
    user = req.actor.role is Role.USER
    declined = not user and req.confirm is Confirm.DECLINE
    if svc_name is None or op not in _OPS:
        return Status.BAD_REQUEST, state, None
    instances = state.service(svc_name).instances
    if op == "get_active":
        if declined:
            return Status.NOT_EXECUTED, state, None
        return Status.OK, state, next((n for n, i in instances.items() if i.active), None)
    if op == "in_use":
        if declined:
            return Status.NOT_EXECUTED, state, None
        active = next((n for n, i in instances.items() if i.active), None)
        default = next((n for n, i in instances.items() if i.default), None)
        return Status.OK, state, active if active is not None else default
    if name is None:
        return Status.BAD_REQUEST, state, None
    inst = instances.get(name)
    args = req.args
    if op == "add":
        params = args.get("params", FrozenMap())
        if _bad(params, FrozenMap):
            return Status.BAD_REQUEST, state, None
        if inst is not None:
            return Status.ALREADY_EXISTS, state, None
        if declined:
            return Status.NOT_EXECUTED, state, None
        new = instances.set(name, Instance(params=params))  # type: ignore[arg-type]
        return Status.OK, state.with_service(svc_name, Service(new)), None
    if op == "replace" and (not _is_name(args.get("param")) or _bad(args.get("value"), str)):
        return Status.BAD_REQUEST, state, None
    if op == "delete_param" and not _is_name(args.get("param")):
        return Status.BAD_REQUEST, state, None
    if op.startswith("set_") and _bad(args.get("value"), bool):
        return Status.BAD_REQUEST, state, None
    if inst is None:
        return Status.NOT_FOUND, state, None
    if op == "delete_param" and args["param"] not in inst.params:
        return Status.NOT_FOUND, state, None
    if user and _user_blocked(op, name, inst, instances, args.get("value")):
        return Status.PERMISSION_DENIED, state, None
    if declined:
        return Status.NOT_EXECUTED, state, None
    if op == "get":
        return Status.OK, state, inst
    if op == "delete":
        return Status.OK, state.with_service(svc_name, Service(instances.remove(name))), None
    if op == "delete_param":
        new_inst = Instance(
            inst.active, inst.default, inst.locked, inst.params.remove(str(args["param"]))
        )
        return Status.OK, state.with_service(svc_name, Service(instances.set(name, new_inst))), None
    if op == "replace":
        params = inst.params.set(str(args["param"]), str(args["value"]))
        new_inst = Instance(inst.active, inst.default, inst.locked, params)
        return Status.OK, state.with_service(svc_name, Service(instances.set(name, new_inst))), None
    return Status.OK, _set_flag(state, svc_name, name, op[4:], bool(args["value"])), None


_OPS = frozenset(
    {
        "add",
        "delete",
        "replace",
        "delete_param",
        "set_active",
        "set_default",
        "set_locked",
        "get",
        "get_active",
        "in_use",
    }
)


def _user_blocked(
    op: str, name: str, inst: Instance, instances: FrozenMap[str, Instance], value: object
) -> bool:
    if op == "get":
        return False
    if op == "set_locked" or inst.locked:
        return True
    if op in ("set_active", "set_default") and value is True:
        flag = op[4:]
        return any(getattr(i, flag) and i.locked and n != name for n, i in instances.items())
    return False


def _set_flag(state: DeviceState, svc: str, name: str, flag: str, value: bool) -> DeviceState:
    out = {}
    for n, i in state.service(svc).instances.items():
        flags = {"active": i.active, "default": i.default, "locked": i.locked}
        if n == name:
            flags[flag] = value
        elif value and flag != "locked":
            flags[flag] = False
        out[n] = Instance(flags["active"], flags["default"], flags["locked"], i.params)
    return state.with_service(svc, Service(FrozenMap(out)))
