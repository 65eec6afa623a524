"""The one wiring point: create_app() builds the Litestar app from settings and parts."""

from __future__ import annotations

import gc
import hashlib
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import httpx
import swagger_ui_bundle  # type: ignore[import-untyped]
from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.middleware import DefineMiddleware
from litestar.middleware.compression import CompressionMiddleware
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.plugins.jinja import JinjaTemplateEngine as Jinja
from litestar.plugins.pydantic import PydanticSchemaPlugin
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import (
    LifeSpanReceive,
    LifeSpanScope,
    LifeSpanSend,
    Message,
    Receive,
    Scope,
    Send,
)
from litestar.typing import FieldDefinition

from tracker import health, i18n, tasks
from tracker.access import pages as access_pages
from tracker.access import routes as access_routes
from tracker.access.auth import AuthMiddleware
from tracker.bodies import require_json_body
from tracker.caching import COMPRESS_MIN_BYTES, FrontCache
from tracker.catalog import pages as catalog_pages
from tracker.catalog import routes as catalog_routes
from tracker.db import Sessionmaker, create_engine, create_sessionmaker, provide_session
from tracker.demands import pages as demands_pages
from tracker.demands import routes as demands_routes
from tracker.errors import exception_handlers
from tracker.headers import add_security_headers, list_allowed_methods
from tracker.jobs import routes as jobs_routes
from tracker.jobs.workers import EmbeddedWorker
from tracker.maturity import pages as maturity_pages
from tracker.maturity import routes as maturity_routes
from tracker.maturity import work as maturity_work
from tracker.outbound import build_http_client
from tracker.probes import pages as probes_pages
from tracker.probes import queries as probes_queries
from tracker.probes import routes as probes_routes
from tracker.regions import pages as regions_pages
from tracker.regions import routes as regions_routes
from tracker.reports import pages as reports_pages
from tracker.reports import routes as reports_routes
from tracker.research import pages as research_pages
from tracker.research import routes as research_routes
from tracker.settings import Settings
from tracker.watch import Watch, watch_for
from tracker.webhooks import routes as webhooks_routes

COMPRESSED_PATHS = ("/api/", "/schema/openapi", "/schema-assets/")
SCHEMA_ASSETS = "/schema-assets"
ASSETS = "/assets"  # the pages' own scripts (tracker/static)
GEMEINDE_SECTIONS = regions_pages.GemeindeSections((probes_pages.broken_evidence,))


class ApiCompression(CompressionMiddleware):
    """Brotli or gzip for the API and its spec, never for HTML: a page carries a CSRF token next
    to text from the request (a search term, the path of a 404), and the size of a compressed
    page would reveal the token bit by bit (BREACH)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["path"].startswith(COMPRESSED_PATHS):
            await super().__call__(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    def create_compression_send_wrapper(self, send: Send, *args: Any, **kwargs: Any) -> Send:
        """An answer that comes compressed (`caching.Answer`) goes out as it is; Litestar's
        compressor is made only for the others."""
        target = send
        make = super().create_compression_send_wrapper

        async def send_wrapper(message: Message) -> None:
            nonlocal target
            if message["type"] == "http.response.start":
                names = {bytes(name).lower() for name, _ in message.get("headers") or ()}
                target = send if b"content-encoding" in names else make(send, *args, **kwargs)
            await target(message)

        return send_wrapper


# The polled answers (`reports.routes.polled`) that `caching.FrontCache` keeps whole.
POLLED_PATHS = re.compile(
    r"/api/v1/(gemeinden/[0-9]{12}/reifegrad|reifegrad/summary|dashboards/gemeinden/[0-9]{12})"
)


class Tracker(Litestar):
    """Answers HEAD on every GET route as GET without the body (RFC 9110 9.3.2); Litestar
    itself routes HEAD only to handlers declared for it. Anonymous polls of the polled routes
    are answered from `caching.FrontCache` where it holds them."""

    async def __call__(
        self,
        scope: Scope | LifeSpanScope,
        receive: Receive | LifeSpanReceive,
        send: Send | LifeSpanSend,
    ) -> None:
        if scope["type"] != ScopeType.HTTP:
            await super().__call__(scope, receive, send)
            return
        if scope.get("method") == "HEAD":
            scope, send = cast(Scope, {**scope, "method": "GET"}), without_body(cast(Send, send))
        await self.front(cast(Scope, scope), cast(Receive, receive), cast(Send, send), self.inner)

    async def inner(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)

    @cached_property
    def front(self) -> FrontCache:
        return FrontCache(POLLED_PATHS, lambda: self.state.watch.version())


def without_body(send: Send) -> Send:
    async def send_headers(message: Message) -> None:
        if message["type"] != "http.response.body":
            await send(message)
        elif not message.get("more_body", False):
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    return send_headers


# Constraints Litestar drops inside an optional field, by JSON name and our Schema's attribute.
_CONSTRAINTS = {
    "pattern": "pattern", "minLength": "min_length", "maxLength": "max_length",
    "minimum": "minimum", "maximum": "maximum", "ge": "minimum", "le": "maximum",
    "exclusiveMinimum": "exclusive_minimum", "exclusiveMaximum": "exclusive_maximum",
    "minItems": "min_items", "maxItems": "max_items",
}  # fmt: skip


class ClosedModelSchemas(PydanticSchemaPlugin):
    """The spec says what the server does. Litestar leaves two gaps, closed here: a model that
    forbids extra fields gets `additionalProperties: false`, and the constraints inside an
    optional field (`Note | None`: its pattern, bounds) or on a list's items are taken from
    Pydantic's own schema, where Litestar drops them."""

    @classmethod
    def for_pydantic_model(cls, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = super().for_pydantic_model(field_definition, schema_creator)
        model = field_definition.annotation
        if model.model_config.get("extra") == "forbid":
            schema.additional_properties = False
        own = model.model_json_schema(mode="validation").get("properties", {})
        for name, prop in (schema.properties or {}).items():
            _copy_constraints(prop, own.get(name, {}))
        return schema


def _copy_constraints(prop: Any, source: dict[str, Any]) -> None:
    """Copy what Pydantic's JSON schema `source` states and Litestar's `prop` lacks."""
    for theirs in (source, *source.get("anyOf", ())):
        ours = _member_of_type(prop, theirs.get("type"))
        if ours is None:
            continue
        for key, attribute in _CONSTRAINTS.items():
            if key in theirs and getattr(ours, attribute) is None:
                setattr(ours, attribute, theirs[key])
        # a list of constrained items (list[Ars], list[Tag], list[PositiveId])
        if isinstance(items := theirs.get("items"), dict) and isinstance(ours.items, Schema):
            _copy_constraints(ours.items, items)
        # a mapping with constrained keys (dict[CriterionKey, Rating])
        if len(keyed := theirs.get("patternProperties", {})) == 1:
            ((pattern, values),) = keyed.items()
            if ours.property_names is None:
                ours.property_names = Schema(type=OpenAPIType.STRING, pattern=pattern)
            if ours.additional_properties not in (None, True, False):
                _copy_constraints(ours.additional_properties, values)


def _member_of_type(prop: Any, json_type: Any) -> Schema | None:
    for candidate in (prop, *(getattr(prop, "one_of", None) or ())):
        if isinstance(candidate, Schema) and getattr(candidate.type, "value", None) == json_type:
            return candidate
    return None


def configure_templates(engine: Jinja) -> None:
    i18n.configure(engine.engine)


def create_app(
    settings: Settings | None = None,
    *,
    sessionmaker: Sessionmaker | None = None,
    read_sessionmaker: Sessionmaker | None = None,
    http_client: httpx.AsyncClient | None = None,
) -> Litestar:
    """Build the app. Tests pass a sessionmaker bound to their connection (and may pass another
    for reads) and an httpx client over a mock transport; else the lifespan creates the engines
    in the server's own event loop (the primary's, and the read replica's if
    `read_database_url` is set), the outbound client, and on SQLite the in-process job worker."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if sessionmaker is not None:
            yield
            return
        if http_client is None:
            app.state.http_client = build_http_client(settings)
        pool = {"pool_size": settings.db_pool_size, "max_overflow": settings.db_max_overflow}
        engines = [create_engine(settings.database_url, **pool)]
        if settings.read_database_url is not None:
            engines.append(create_engine(settings.read_database_url, **pool))
        app.state.sessionmaker = app.state.read_sessionmaker = create_sessionmaker(engines[0])
        # A collection of the oldest generation walks every object of the process: with the
        # default thresholds the objects of 32 requests under way, promoted by the young
        # collections, started one several times a second (a quarter of the time under load,
        # and most of the p99). Rarer young collections promote far fewer of them.
        gc.set_threshold(50_000, 20, 10)
        if len(engines) > 1:
            app.state.read_sessionmaker = create_sessionmaker(engines[1])
        else:  # a replica replays after the primary's notifications: its stamps are read
            app.state.watch = watch_for(engines[0])
        await app.state.watch.start()
        worker = None
        if settings.embedded_worker and settings.database_url.startswith("sqlite"):
            worker = EmbeddedWorker(
                app.state.sessionmaker, tasks.TASKS, tasks.periodic(settings), settings=settings,
                http_client=app.state.http_client, watch=app.state.watch,
            )  # fmt: skip
            await worker.start()
        app.state.worker = worker
        try:
            yield
        finally:
            if worker is not None:
                await worker.stop()
            await app.state.watch.stop()
            if http_client is None:
                await app.state.http_client.aclose()
            for engine in engines:
                await engine.dispose()

    key = hashlib.sha256(settings.secret_key.encode()).digest()
    sessions = CookieBackendConfig(
        secret=key, key="tracker_session", httponly=True, samesite="lax",
        secure=settings.secure_cookies, max_age=8 * 3600,
    )  # fmt: skip
    # Every answer is compressed anew, so the levels are those for dynamic content: a Gemeinde's
    # 80 kB roll-up takes 0.5 ms at brotli 2 (1 ms at 4, 1 % smaller) and 0.5 ms at gzip 1
    # (nginx's default; 1.5 ms at 6, 14 % smaller).
    compression = CompressionConfig(
        backend="brotli", brotli_gzip_fallback=True, brotli_quality=2, gzip_compress_level=1,
        minimum_size=COMPRESS_MIN_BYTES, middleware_class=ApiCompression,
    )  # fmt: skip
    return Tracker(
        route_handlers=[
            health.health,
            access_routes.router,
            catalog_routes.router,
            regions_routes.router,
            maturity_routes.router,
            demands_routes.router,
            jobs_routes.router,
            probes_routes.router,
            webhooks_routes.router,
            research_routes.router,
            reports_routes.router,
            reports_pages.router,
            catalog_pages.router,
            regions_pages.router,
            maturity_pages.router,
            maturity_work.router,
            demands_pages.router,
            research_pages.router,
            access_pages.router,
            create_static_files_router(
                path=ASSETS,
                directories=[Path(__file__).parent / "static"],
                include_in_schema=False,
                opt={"public": "the pages' scripts (progressive enhancement)"},
            ),
            create_static_files_router(
                path=SCHEMA_ASSETS,
                directories=[swagger_ui_bundle.swagger_ui_path],
                include_in_schema=False,
                opt={"public": "the API documentation's viewer"},
            ),
        ],
        middleware=[
            sessions.middleware,
            DefineMiddleware(AuthMiddleware, exclude=["^/schema", "^/health"]),
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_httponly=True,
            cookie_secure=settings.secure_cookies,
            cookie_samesite="lax",
            exclude=["^/api/", "^/health$"],  # /health answers GET only and has no form
        ),
        before_request=require_json_body,
        compression_config=compression,
        plugins=[ClosedModelSchemas()],
        dependencies={
            "session": Provide(provide_session),
            # extension points of lower features, filled from the layers above them
            "evidence_reviewer": Provide(lambda: probes_queries.REVIEWER, sync_to_thread=False),
            "gemeinde_sections": Provide(lambda: GEMEINDE_SECTIONS, sync_to_thread=False),
        },
        lifespan=[lifespan],
        exception_handlers=exception_handlers(access_pages.to_login),
        before_send=[add_security_headers, list_allowed_methods],  # every response, errors too
        template_config=TemplateConfig(
            directory=i18n.TEMPLATES, engine=Jinja, engine_callback=configure_templates
        ),
        openapi_config=OpenAPIConfig(
            title="tracker",
            version="1",
            description=(
                "OZG service-design backlog and maturity tracker: the OZG catalogue with LeiKa, "
                "every German Gemeinde (Destatis GV100AD). Errors are application/problem+json."
            ),
            path="/schema",
            # Swagger UI from the installation (swagger-ui-bundle): works offline, loads nothing
            render_plugins=[
                SwaggerRenderPlugin(
                    js_url=f"{SCHEMA_ASSETS}/swagger-ui-bundle.js",
                    css_url=f"{SCHEMA_ASSETS}/swagger-ui.css",
                    standalone_preset_js_url=f"{SCHEMA_ASSETS}/swagger-ui-standalone-preset.js",
                    favicon=f"<link rel='icon' href='{SCHEMA_ASSETS}/favicon-32x32.png'>",
                    path="/",
                )
            ],
        ),
        request_max_body_size=settings.max_body_bytes,
        state=State(
            {
                "settings": settings,
                "database_probe": health.DatabaseProbe(),
                "watch": Watch(),
                "sessionmaker": sessionmaker,
                "read_sessionmaker": read_sessionmaker or sessionmaker,
                "http_client": http_client,
            }
        ),
        debug=settings.debug,
    )


def render_openapi(app: Litestar) -> str:
    return (
        json.dumps(app.openapi_schema.to_schema(), indent=2, sort_keys=True, ensure_ascii=False)
        + "\n"
    )
