"""``dm serve --dashboard``: each campaign's live page, on the DM server's own aiohttp app.

Read-only: ``GET {prefix}/`` lists the store's runs, ``GET {prefix}/ID`` is a run's page
(:mod:`.pages`; it refreshes itself while the run is running or paused), ``GET {prefix}/ID.json``
its numbers. A page is built and rendered on the store's reader threads (:mod:`.worker`), never
on the event loop, and kept for ``cache_s`` seconds, so many viewers cost the store one read
per campaign per interval and no device session waits on a viewer. A page lists device ids, so
the dashboard can ask for a token (``Authorization: Bearer TOKEN``, or ``?token=TOKEN``).
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import attrs
from aiohttp import web

from .database import Database, StoreError
from .pages import render, render_index, run_page
from .runs import RunError, run_status, runs
from .worker import StoreAccess


@attrs.frozen
class DashboardConfig:
    """Where the pages are, the token a viewer must give (None: none), how long a page is
    kept and how often it refreshes itself."""

    prefix: str = "/campaigns"
    token: str | None = None
    cache_s: float = 2.0
    refresh_s: int = 5


class Dashboard:
    """The page handlers of one server."""

    def __init__(self, worker: StoreAccess, config: DashboardConfig = DashboardConfig()) -> None:
        self.worker, self.config = worker, config
        self._kept: dict[str, tuple[float, web.Response]] = {}

    def routes(self, app: web.Application) -> None:
        prefix = self.config.prefix.rstrip("/")
        app.router.add_get(f"{prefix}/", self._guarded(self.index))
        app.router.add_get(prefix + "/{campaign}", self._guarded(self.page))

    def _guarded(
        self, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def checked(request: web.Request) -> web.StreamResponse:
            token = self.config.token
            if token is not None:
                given = request.query.get("token", "")
                header = request.headers.get("Authorization", "")
                if header.startswith("Bearer "):
                    given = header.removeprefix("Bearer ")
                if not hmac.compare_digest(given.encode(), token.encode()):
                    return web.Response(status=401, text="a token is needed to see campaigns")
            return await handler(request)

        return checked

    async def index(self, request: web.Request) -> web.StreamResponse:
        def read(db: Database) -> str:
            rows = [(c, run_status(db, c, events=0)) for c in runs(db)]
            listed = [(c, s.state, s.rollout.goal) for c, s in rows]
            return render_index(listed, self.config.prefix.rstrip("/"), self._query(request))

        return await self._kept_or(request, "", read, "text/html")

    async def page(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["campaign"]
        as_json = name.endswith(".json")
        campaign = name.removesuffix(".json")
        refresh = self.config.refresh_s

        def read(db: Database) -> str:
            page = run_page(db, campaign, refresh=refresh)
            if as_json:
                return json.dumps(page.to_json())
            return render(page)

        kind = "application/json" if as_json else "text/html"
        return await self._kept_or(request, name, read, kind)

    async def _kept_or(
        self, request: web.Request, key: str, read: Callable[[Database], str], kind: str
    ) -> web.StreamResponse:
        kept = self._kept.get(key)
        now = time.monotonic()
        if kept is not None and now - kept[0] < self.config.cache_s:
            return _copy(kept[1])
        try:
            body = await self.worker.read(read)
        except RunError as err:
            return web.Response(status=404, text=str(err))
        except StoreError as err:
            return web.Response(status=503, headers={"Retry-After": "5"}, text=str(err))
        response = web.Response(text=body, content_type=kind, charset="utf-8")
        if len(self._kept) > 1000:
            self._kept.clear()
        self._kept[key] = (now, response)
        return _copy(response)

    def _query(self, request: web.Request) -> str:
        token = request.query.get("token")
        return f"?token={quote(token)}" if token and self.config.token else ""


def _copy(response: web.Response) -> web.Response:
    """A fresh response with the same body (an aiohttp response is sent once)."""
    assert response.body is not None and isinstance(response.body, bytes)
    return web.Response(
        body=response.body,
        content_type=response.content_type,
        charset=response.charset,
        headers={"Cache-Control": "no-store"},
    )
