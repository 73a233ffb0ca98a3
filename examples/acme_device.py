"""ACME's configuration store: Active, Default and Locked on every MO instance.

A plain-Python implementation as a device vendor writes it: dictionaries, no mostate. Commands
arrive as dictionaries (the JSON a DM session decodes to) and are answered with an OMA-DM
status code and, for the three queries, a result.

This implementation follows the spec; `mostate conform examples/adapters.py:AcmeAdapter`
shows it.
"""

BAD_NAME_CHARS = ("/", "?", "\x00")


def _is_name(value):
    return isinstance(value, str) and value != "" and not any(c in value for c in BAD_NAME_CHARS)


class AcmeDevice:
    """services: {service name: {instance name: {"active", "default", "locked", "params"}}}"""

    def __init__(self):
        self.services = {}

    # -- entry point ------------------------------------------------------------------------

    def handle(self, cmd):
        """Execute one command; returns (status, result)."""
        handler = getattr(self, "_cmd_" + str(cmd.get("op")), None)
        if handler is None or not _is_name(cmd.get("service")):
            return 400, None
        targetless = handler in (self._cmd_get_active, self._cmd_in_use)
        if not targetless and not _is_name(cmd.get("instance")):
            return 400, None
        return handler(cmd)

    def dump(self):
        """The whole store, as a state document."""
        return {
            service: {name: dict(inst, params=dict(inst["params"])) for name, inst in insts.items()}
            for service, insts in self.services.items()
            if insts
        }

    # -- helpers ----------------------------------------------------------------------------

    def _instances(self, cmd):
        return self.services.setdefault(cmd["service"], {})

    @staticmethod
    def _by_user(cmd):
        return cmd.get("actor") == "user"

    @staticmethod
    def _declined(cmd):
        return cmd.get("actor") == "server" and cmd.get("confirm") == "decline"

    # -- commands ---------------------------------------------------------------------------

    def _cmd_add(self, cmd):
        params = cmd.get("params", {})
        if not isinstance(params, dict):
            return 400, None
        instances = self._instances(cmd)
        if cmd["instance"] in instances:
            return 418, None
        if self._declined(cmd):
            return 215, None
        instances[cmd["instance"]] = {
            "active": False,
            "default": False,
            "locked": False,
            "params": dict(params),
        }
        return 200, None

    def _cmd_delete(self, cmd):
        instances = self._instances(cmd)
        inst = instances.get(cmd["instance"])
        if inst is None:
            return 404, None
        if self._by_user(cmd) and inst["locked"]:
            return 425, None
        if self._declined(cmd):
            return 215, None
        del instances[cmd["instance"]]
        return 200, None

    def _cmd_replace(self, cmd):
        if not _is_name(cmd.get("param")) or not isinstance(cmd.get("value"), str):
            return 400, None
        inst = self._instances(cmd).get(cmd["instance"])
        if inst is None:
            return 404, None
        if self._by_user(cmd) and inst["locked"]:
            return 425, None
        if self._declined(cmd):
            return 215, None
        inst["params"][cmd["param"]] = cmd["value"]
        return 200, None

    def _cmd_delete_param(self, cmd):
        if not _is_name(cmd.get("param")):
            return 400, None
        inst = self._instances(cmd).get(cmd["instance"])
        if inst is None or cmd["param"] not in inst["params"]:
            return 404, None
        if self._by_user(cmd) and inst["locked"]:
            return 425, None
        if self._declined(cmd):
            return 215, None
        del inst["params"][cmd["param"]]
        return 200, None

    def _switch(self, cmd, flag):
        """set_active / set_default: at most one instance of the service carries the flag."""
        value = cmd.get("value")
        if not isinstance(value, bool):
            return 400, None
        instances = self._instances(cmd)
        inst = instances.get(cmd["instance"])
        if inst is None:
            return 404, None
        if self._by_user(cmd):
            if inst["locked"]:
                return 425, None
            # Taking the flag from a locked instance changes that instance: not for the user.
            holder = [i for n, i in instances.items() if i[flag] and n != cmd["instance"]]
            if value and any(i["locked"] for i in holder):
                return 425, None
        if self._declined(cmd):
            return 215, None
        if value:
            for other in instances.values():
                other[flag] = False
        inst[flag] = value
        return 200, None

    def _cmd_set_active(self, cmd):
        return self._switch(cmd, "active")

    def _cmd_set_default(self, cmd):
        return self._switch(cmd, "default")

    def _cmd_set_locked(self, cmd):
        if not isinstance(cmd.get("value"), bool):
            return 400, None
        inst = self._instances(cmd).get(cmd["instance"])
        if inst is None:
            return 404, None
        if self._by_user(cmd):
            return 425, None
        if self._declined(cmd):
            return 215, None
        inst["locked"] = cmd["value"]
        return 200, None

    # -- queries ----------------------------------------------------------------------------

    def _cmd_get(self, cmd):
        inst = self._instances(cmd).get(cmd["instance"])
        if inst is None:
            return 404, None
        if self._declined(cmd):
            return 215, None
        return 200, dict(inst, params=dict(inst["params"]))

    def _flagged(self, cmd, flag):
        return next((n for n, i in sorted(self._instances(cmd).items()) if i[flag]), None)

    def _cmd_get_active(self, cmd):
        if self._declined(cmd):
            return 215, None
        return 200, self._flagged(cmd, "active")

    def _cmd_in_use(self, cmd):
        if self._declined(cmd):
            return 215, None
        return 200, self._flagged(cmd, "active") or self._flagged(cmd, "default")
