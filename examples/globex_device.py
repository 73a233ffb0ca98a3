"""Globex's configuration store, written independently of ACME's: one function per command
over a plain nested dictionary, no mostate.

It has a realistic bug: when the user makes an instance Active, only the target's own lock is
checked, so the user can switch Active away from an instance the operator locked. The kit
finds it: `mostate conform examples/adapters.py:GlobexAdapter`.
"""


def new_store():
    """A device with no configuration: {service: {instance: record}}."""
    return {}


def _name_ok(value):
    return (
        isinstance(value, str)
        and len(value) > 0
        and "/" not in value
        and "?" not in value
        and "\x00" not in value
    )


def _declined(cmd):
    return cmd.get("actor") == "server" and cmd.get("confirm") == "decline"


def _record(store, cmd):
    return store.get(cmd["service"], {}).get(cmd["instance"])


def do_add(store, cmd):
    params = cmd.get("params", {})
    if not isinstance(params, dict):
        return 400, None
    if _record(store, cmd) is not None:
        return 418, None
    if _declined(cmd):
        return 215, None
    store.setdefault(cmd["service"], {})[cmd["instance"]] = {
        "active": False,
        "default": False,
        "locked": False,
        "params": dict(params),
    }
    return 200, None


def do_delete(store, cmd):
    rec = _record(store, cmd)
    if rec is None:
        return 404, None
    if cmd["actor"] == "user" and rec["locked"]:
        return 425, None
    if _declined(cmd):
        return 215, None
    del store[cmd["service"]][cmd["instance"]]
    if not store[cmd["service"]]:
        del store[cmd["service"]]
    return 200, None


def do_replace(store, cmd):
    if not _name_ok(cmd.get("param")) or not isinstance(cmd.get("value"), str):
        return 400, None
    rec = _record(store, cmd)
    if rec is None:
        return 404, None
    if cmd["actor"] == "user" and rec["locked"]:
        return 425, None
    if _declined(cmd):
        return 215, None
    rec["params"][cmd["param"]] = cmd["value"]
    return 200, None


def do_delete_param(store, cmd):
    if not _name_ok(cmd.get("param")):
        return 400, None
    rec = _record(store, cmd)
    if rec is None or cmd["param"] not in rec["params"]:
        return 404, None
    if cmd["actor"] == "user" and rec["locked"]:
        return 425, None
    if _declined(cmd):
        return 215, None
    del rec["params"][cmd["param"]]
    return 200, None


def _set_flag(store, cmd, flag, guard_holder):
    if not isinstance(cmd.get("value"), bool):
        return 400, None
    rec = _record(store, cmd)
    if rec is None:
        return 404, None
    if cmd["actor"] == "user":
        if rec["locked"]:
            return 425, None
        if guard_holder and cmd["value"]:
            for name, other in store[cmd["service"]].items():
                if name != cmd["instance"] and other[flag] and other["locked"]:
                    return 425, None
    if _declined(cmd):
        return 215, None
    if cmd["value"]:
        for other in store[cmd["service"]].values():
            other[flag] = False
    rec[flag] = cmd["value"]
    return 200, None


def do_set_active(store, cmd):
    # BUG: the holder's lock is not checked for Active (it is for Default, below).
    return _set_flag(store, cmd, "active", guard_holder=False)


def do_set_default(store, cmd):
    return _set_flag(store, cmd, "default", guard_holder=True)


def do_set_locked(store, cmd):
    if not isinstance(cmd.get("value"), bool):
        return 400, None
    rec = _record(store, cmd)
    if rec is None:
        return 404, None
    if cmd["actor"] == "user":
        return 425, None
    if _declined(cmd):
        return 215, None
    rec["locked"] = cmd["value"]
    return 200, None


def do_get(store, cmd):
    rec = _record(store, cmd)
    if rec is None:
        return 404, None
    if _declined(cmd):
        return 215, None
    return 200, {
        "active": rec["active"],
        "default": rec["default"],
        "locked": rec["locked"],
        "params": dict(rec["params"]),
    }


def _first(store, service, flag):
    for name in sorted(store.get(service, {})):
        if store[service][name][flag]:
            return name
    return None


def do_get_active(store, cmd):
    if _declined(cmd):
        return 215, None
    return 200, _first(store, cmd["service"], "active")


def do_in_use(store, cmd):
    if _declined(cmd):
        return 215, None
    active = _first(store, cmd["service"], "active")
    return 200, active if active is not None else _first(store, cmd["service"], "default")


COMMANDS = {
    "add": do_add,
    "delete": do_delete,
    "replace": do_replace,
    "delete_param": do_delete_param,
    "set_active": do_set_active,
    "set_default": do_set_default,
    "set_locked": do_set_locked,
    "get": do_get,
    "get_active": do_get_active,
    "in_use": do_in_use,
}
TARGETLESS = ("get_active", "in_use")


def execute(store, cmd):
    """Run one command against the store; returns (status, result)."""
    command = COMMANDS.get(cmd.get("op"))
    if command is None or not _name_ok(cmd.get("service")):
        return 400, None
    if cmd.get("op") not in TARGETLESS and not _name_ok(cmd.get("instance")):
        return 400, None
    if cmd.get("actor") not in ("user", "server"):
        return 400, None
    return command(store, cmd)
