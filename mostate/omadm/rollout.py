"""A campaign as operators run it, as one value: what to reach (goal, target, parameters, the
spec's digest) and how to roll it out (waves, a failure budget, retries, windows, verification).

A :class:`Rollout` is what ``mostate campaign create`` reads (a TOML file, or options), what the
store keeps (:meth:`Rollout.to_json`, in ``campaign_runs``) and what ``dm serve`` reads back to
decide which steps a device gets now (:mod:`.runs`). Every field is checked when the value is
built from its JSON, and a bad one is a :class:`RolloutError` that names it; nothing here knows
the spec's language (a wave's ``rule`` is parsed where the inventory is read, by the campaign
layer).

>>> r = Rollout.from_json({"id": "c1", "goal": "active(target)", "target": "new",
...                        "waves": [{"percent": 10}, {"percent": 90, "threshold": 0.8}],
...                        "budget": {"percent": 5}, "retry": {"retries": 2}})
>>> [w.percent for w in r.waves], r.budget.allowed(200), r.retry.delay(2)
([10.0, 90.0], 10, 120.0)
>>> Rollout.from_json(r.to_json()) == r
True
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any

import attrs

from ..errors import MostateError
from ..frozenmap import FrozenMap

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class RolloutError(MostateError, ValueError):
    """A campaign definition that cannot be run; the message names the key."""


@attrs.frozen
class Wave:
    """One wave: the devices it takes (a percentage of the campaign's devices, a list of ids,
    or those whose inventory state satisfies ``rule``), the share of them that must succeed
    before the next wave opens, and whether the next one waits for ``campaign resume``."""

    name: str
    percent: float | None = None
    devices: frozenset[str] | None = None
    rule: str | None = None
    threshold: float = 0.9
    pause_after: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "threshold": self.threshold}
        if self.percent is not None:
            out["percent"] = self.percent
        if self.devices is not None:
            out["devices"] = sorted(self.devices)
        if self.rule is not None:
            out["rule"] = self.rule
        if self.pause_after:
            out["pause_after"] = True
        return out


REST = "rest"
"""The name of the wave that takes the devices no wave of the definition claims."""


@attrs.frozen
class Budget:
    """How many devices of the open wave may be failing (a command failed, retried or not, or a
    read-back that did not match) before the campaign pauses itself: ``devices`` when given,
    else ``percent`` of the wave."""

    percent: float = 100.0
    devices: int | None = None

    def allowed(self, wave_size: int) -> int:
        """The most failing devices a wave of ``wave_size`` may have and go on."""
        if self.devices is not None:
            return self.devices
        return math.floor(self.percent * wave_size / 100 + 1e-9)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"percent": self.percent}
        if self.devices is not None:
            out["devices"] = self.devices
        return out


@attrs.frozen
class RetryPolicy:
    """A failed command is sent again at the device's next session after ``delay(attempt)``
    seconds, up to ``retries`` times; a declined confirmation only when ``declined``."""

    retries: int = 3
    backoff_s: float = 60.0
    factor: float = 2.0
    max_backoff_s: float = 3600.0
    declined: bool = False

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1 the first): exponential.

        >>> [RetryPolicy(backoff_s=10).delay(k) for k in (1, 2, 3)]
        [10.0, 20.0, 40.0]
        """
        return float(min(self.max_backoff_s, self.backoff_s * self.factor ** (attempt - 1)))

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class Window:
    """Days of the week (0 Monday) and a span of minutes after midnight; a span whose end is
    before its start runs over midnight (into the next day)."""

    days: frozenset[int]
    start: int
    end: int

    def contains(self, moment: dt.datetime) -> bool:
        """Whether ``moment`` (a local time) is inside the window.

        >>> w = Window(frozenset({0}), 22 * 60, 2 * 60)  # Monday 22:00 to Tuesday 02:00
        >>> monday = dt.datetime(2027, 3, 1, 23, 0)
        >>> later, noon = monday + dt.timedelta(hours=2), monday.replace(hour=12)
        >>> w.contains(monday), w.contains(later), w.contains(noon)
        (True, True, False)
        """
        minute = moment.hour * 60 + moment.minute
        day = moment.weekday()
        if self.start <= self.end:
            return day in self.days and self.start <= minute < self.end
        return (day in self.days and minute >= self.start) or (
            (day - 1) % 7 in self.days and minute < self.end
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "days": [DAYS[d] for d in sorted(self.days)],
            "start": _clock(self.start),
            "end": _clock(self.end),
        }


@attrs.frozen
class Rollout:
    """A campaign to run: its id, the goal and target it was planned for (with the parameters
    the target is added with and the service), the digest of the spec it was planned with, and
    how it is rolled out. ``time_zone``: the windows' zone for a device that says none (None:
    the server's own); ``verify``: read back what the plan set before a device counts as done.
    """

    id: str
    goal: str
    target: str
    service: str = "MMS"
    params: FrozenMap[str, str] = FrozenMap()
    spec_digest: str = ""
    waves: tuple[Wave, ...] = (Wave("all", percent=100.0),)
    budget: Budget = Budget()
    retry: RetryPolicy = RetryPolicy()
    windows: tuple[Window, ...] = ()
    time_zone: str | None = None
    verify: bool = True
    consent: bool = False
    """Ask the user to confirm each command (a declined one is answered 215)."""

    def in_window(self, now: float, zone: str | None = None) -> bool:
        """Whether ``now`` (a POSIX time) is inside a window, in the device's ``zone`` when it
        names one this machine knows, else the campaign's, else the server's (no windows:
        always).

        >>> r = Rollout("c", "active(target)", "n", windows=(Window(frozenset(range(7)), 60, 120),),
        ...             time_zone="UTC")
        >>> r.in_window(dt.datetime(2027, 1, 1, 1, 30, tzinfo=dt.UTC).timestamp())
        True
        >>> r.in_window(dt.datetime(2027, 1, 1, 1, 30, tzinfo=dt.UTC).timestamp(), "Asia/Tokyo")
        False
        """
        if not self.windows:
            return True
        tz = _zone(zone) or _zone(self.time_zone)
        moment = dt.datetime.fromtimestamp(now, tz) if tz else dt.datetime.fromtimestamp(now)
        return any(w.contains(moment) for w in self.windows)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "goal": self.goal,
            "target": self.target,
            "service": self.service,
            "params": dict(self.params.items()),
            "spec_digest": self.spec_digest,
            "waves": [w.to_json() for w in self.waves],
            "budget": self.budget.to_json(),
            "retry": self.retry.to_json(),
            "windows": [w.to_json() for w in self.windows],
            "time_zone": self.time_zone,
            "verify": self.verify,
            "consent": self.consent,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rollout:
        """The rollout a definition (TOML or JSON, as a mapping) describes; RolloutError
        naming the first key that is wrong.

        >>> Rollout.from_json({"id": "c", "goal": "g", "target": "t", "waves": [{"percent": 0}]})
        Traceback (most recent call last):
        ...
        mostate.omadm.rollout.RolloutError: waves[0].percent: a number above 0 and at most 100
        """
        _known(data, "", set(attrs.fields_dict(cls)))
        waves = tuple(
            _wave(w, f"waves[{k}]", k)
            for k, w in enumerate(_list(data, "waves", [{"percent": 100}]))
        )
        if not waves:
            raise RolloutError("waves: at least one wave")
        if len({w.name for w in waves}) != len(waves):
            raise RolloutError("waves: two waves have the same name")
        if sum(w.percent or 0 for w in waves) > 100 + 1e-9:
            raise RolloutError("waves: the percentages add up to more than 100")
        zone = _opt_str(data, "time_zone", "")
        if zone is not None and _zone(zone) is None:
            raise RolloutError(f"time_zone: {zone!r} is not a time zone this machine knows")
        return cls(
            id=_name(_str(data, "id", ""), "id"),
            goal=_str(data, "goal", ""),
            target=_name(_str(data, "target", ""), "target"),
            service=_name(_str(data, "service", "", "MMS"), "service"),
            params=_params(data.get("params", {})),
            spec_digest=_str(data, "spec_digest", "", ""),
            waves=waves,
            budget=_budget(_table(data, "budget"), "budget"),
            retry=_retry(_table(data, "retry"), "retry"),
            windows=tuple(
                _window(w, f"windows[{k}]") for k, w in enumerate(_list(data, "windows", []))
            ),
            time_zone=zone,
            verify=_bool(data, "verify", "", True),
            consent=_bool(data, "consent", "", False),
        )


# --- reading a definition, each key checked ----------------------------------------------------


def _known(data: Mapping[str, Any], where: str, keys: set[str]) -> None:
    if not isinstance(data, Mapping):
        raise RolloutError(f"{where or 'the definition'}: a table of keys")
    extra = sorted(set(data) - keys)
    if extra:
        raise RolloutError(f"{where}{'.' if where else ''}{extra[0]}: unknown key")


def _str(data: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or (default is None and not value):
        raise RolloutError(f"{where}{key}: a non-empty string")
    return value


def _opt_str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise RolloutError(f"{where}{key}: a string")
    return value


def _bool(data: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise RolloutError(f"{where}{key}: true or false")
    return value


def _number(data: Mapping[str, Any], key: str, where: str, default: float, low: float,
            high: float, *, open_low: bool = False) -> float:  # fmt: skip
    value = data.get(key, default)
    bad = isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value)
    if bad or value > high or value < low or (open_low and value == low):
        above = "above" if open_low else "at least"
        raise RolloutError(f"{where}{key}: a number {above} {low:g} and at most {high:g}")
    return float(value)


def _int(data: Mapping[str, Any], key: str, where: str, default: int, low: int = 0) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise RolloutError(f"{where}{key}: a whole number, at least {low}")
    return value


def _list(data: Mapping[str, Any], key: str, default: list[Any]) -> list[Any]:
    value = data.get(key, default)
    if not isinstance(value, list):
        raise RolloutError(f"{key}: a list")
    return value


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise RolloutError(f"{key}: a table of keys")
    return value


_NAME = re.compile(r"[^/?\x00]+")


def _name(text: str, key: str) -> str:
    if not _NAME.fullmatch(text) or text.strip() != text:
        raise RolloutError(f"{key}: {text!r} is not a name (no '/', '?', NUL or outer spaces)")
    return text


def _params(value: Any) -> FrozenMap[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise RolloutError("params: a table of strings")
    return FrozenMap(sorted(value.items()))


def _wave(data: Any, where: str, index: int) -> Wave:
    _known(data, where, {"name", "percent", "devices", "rule", "threshold", "pause_after"})
    prefix = f"{where}."
    chosen = [k for k in ("percent", "devices", "rule") if k in data]
    if len(chosen) != 1:
        raise RolloutError(f"{where}: one of percent, devices and rule")
    percent = devices = rule = None
    if "percent" in data:
        percent = _number(data, "percent", prefix, 0, 0, 100, open_low=True)
    if "devices" in data:
        ids = data["devices"]
        if not isinstance(ids, list) or not ids or not all(isinstance(d, str) and d for d in ids):
            raise RolloutError(f"{prefix}devices: a non-empty list of device ids")
        devices = frozenset(ids)
    if "rule" in data:
        rule = _str(data, "rule", prefix)
    name = _name(_str(data, "name", prefix, f"wave {index + 1}"), f"{prefix}name")
    if name == REST:
        raise RolloutError(f"{prefix}name: {REST!r} names the wave of the devices left over")
    return Wave(
        name,
        percent,
        devices,
        rule,
        _number(data, "threshold", prefix, 0.9, 0, 1),
        _bool(data, "pause_after", prefix, False),
    )


def _budget(data: Mapping[str, Any], where: str) -> Budget:
    _known(data, where, {"percent", "devices"})
    devices = data.get("devices")
    if devices is not None:
        devices = _int(data, "devices", f"{where}.", 0)
    return Budget(_number(data, "percent", f"{where}.", 100, 0, 100), devices)


def _retry(data: Mapping[str, Any], where: str) -> RetryPolicy:
    _known(data, where, set(attrs.fields_dict(RetryPolicy)))
    prefix = f"{where}."
    return RetryPolicy(
        _int(data, "retries", prefix, 3),
        _number(data, "backoff_s", prefix, 60, 0, 86_400 * 7),
        _number(data, "factor", prefix, 2, 1, 100),
        _number(data, "max_backoff_s", prefix, 3600, 0, 86_400 * 30),
        _bool(data, "declined", prefix, False),
    )


def _window(data: Any, where: str) -> Window:
    _known(data, where, {"days", "start", "end"})
    prefix = f"{where}."
    days = data.get("days", list(DAYS))
    if isinstance(days, str):
        days = [days]
    if not isinstance(days, list) or not days:
        raise RolloutError(f"{prefix}days: a list of days (mon ... sun, or ranges mon-fri)")
    return Window(
        frozenset(d for text in days for d in _days(text, f"{prefix}days")),
        _minutes(_str(data, "start", prefix), f"{prefix}start"),
        _minutes(_str(data, "end", prefix), f"{prefix}end"),
    )


def _days(text: Any, where: str) -> range | list[int]:
    parts = text.lower().split("-") if isinstance(text, str) else []
    if not parts or len(parts) > 2 or any(p not in DAYS for p in parts):
        raise RolloutError(f"{where}: {text!r} is not a day (mon ... sun) or a range (mon-fri)")
    first, last = DAYS.index(parts[0]), DAYS.index(parts[-1])
    return range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]


def _minutes(text: str, where: str) -> int:
    match = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", text)
    if match is None:
        if text == "24:00":
            return 24 * 60
        raise RolloutError(f"{where}: {text!r} is not a time of day (HH:MM)")
    return int(match[1]) * 60 + int(match[2])


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _zone(name: str | None) -> dt.tzinfo | None:
    """The time zone named (IANA, e.g. ``Europe/Paris``), or None when there is no such name."""
    if not name:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
