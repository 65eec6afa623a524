"""One error vocabulary: domain exceptions and their problem+json (RFC 9457) mapping."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, ClassVar

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.plugins.problem_details import ProblemDetailsException
from litestar.response import Template
from litestar.types import ExceptionHandlersMap
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DBAPIError, IntegrityError

from tracker.i18n import page_context

PROBLEM_MEDIA_TYPE = "application/problem+json"
# Headings of the HTML error pages, German like the pages (i18n.EN has the English).
PAGE_TITLES = {
    400: "Ungültige Anfrage",
    401: "Anmeldung erforderlich",
    403: "Zugriff verweigert",
    404: "Nicht gefunden",
    405: "Methode nicht erlaubt",
    409: "Konflikt mit gespeicherten Daten",
    412: "Inzwischen geändert",
    413: "Anfrage zu groß",
    415: "Format nicht unterstützt",
    422: "Nicht verarbeitbar",
    429: "Zu viele Anfragen",
    500: "Interner Fehler",
    503: "Vorübergehend nicht verfügbar",
}
# What each answer means for the reader, where the cause has no German sentence of its own.
PAGE_EXPLANATIONS = {
    400: "Die Adresse oder das Formular enthält einen ungültigen Wert.",
    401: "Bitte melden Sie sich an.",
    403: "Dafür fehlt Ihnen die Berechtigung, oder das Formular ist abgelaufen: laden Sie die "
    "Seite neu.",
    404: "Diese Seite gibt es nicht. Prüfen Sie die Adresse oder suchen Sie oben.",
    405: "Diese Aktion ist hier nicht möglich.",
    409: "Die Änderung widerspricht bereits gespeicherten Daten.",
    413: "Die Anfrage ist zu groß.",
    422: "Die Eingabe verstößt gegen eine Regel.",
    429: "Zu viele Anfragen in kurzer Zeit; versuchen Sie es gleich noch einmal.",
    500: "Ein unerwarteter Fehler ist aufgetreten; er ist protokolliert.",
    503: "Der Dienst ist überlastet; versuchen Sie es später noch einmal.",
}
logger = logging.getLogger("tracker")
# PostgreSQL's SQLSTATE query_canceled: a statement ran past statement_timeout. asyncpg raises
# QueryCanceledError; SQLAlchemy's asyncpg dialect hands it on as a DBAPIError with this sqlstate.
QUERY_CANCELED = "57014"


class TrackerError(Exception):
    status: ClassVar[int] = 500

    def __init__(
        self, detail: str, *, extra: dict[str, Any] | None = None, german: str | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        self.german = german  # the same sentence for the German pages; the API speaks English

    def in_language(self, lang: str) -> str:
        return self.german if lang == "de" and self.german else self.detail


class BadRequest(TrackerError):
    """A request parameter has the right type but cannot be read (e.g. a damaged cursor)."""

    status = 400


class NotFound(TrackerError):
    status = 404


class Conflict(TrackerError):
    status = 409


class PreconditionFailed(TrackerError):
    """If-Match names a version that is no longer current."""

    status = 412


class PreconditionRequired(TrackerError):
    status = 428


class Unauthorized(TrackerError):
    status = 401


class Forbidden(TrackerError):
    status = 403


class UnsupportedMediaType(TrackerError):
    status = 415


class Unavailable(TrackerError):
    """Something the server was to make failed (a report file's job is dead): not the client's
    mistake, and not a crash either."""

    status = 503


class InvalidInput(TrackerError):
    """Well-formed input that breaks a rule needing data."""

    status = 422


class Problem(BaseModel):
    """An RFC 9457 problem; `extra` lists the offending fields of a 400."""

    model_config = ConfigDict(extra="allow")
    status: int
    title: str
    detail: str | None = None
    type: str | None = None
    extra: list[dict[str, Any]] | None = None


def _problem(status: int, detail: str | None, extra: Any = None) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=status,
        title=HTTPStatus(status).phrase,
        detail=detail or "",
        extra=extra,
    )


class _GermanProblem(ProblemDetailsException):
    """A problem whose detail the German error page can show in German."""

    def __init__(self, exc: TrackerError) -> None:
        super().__init__(
            status_code=exc.status, title=HTTPStatus(exc.status).phrase, detail=exc.detail,
            extra=exc.extra,
        )  # fmt: skip
        self.german = exc.german


def _from_tracker_error(exc: TrackerError) -> ProblemDetailsException:
    return _GermanProblem(exc)


# What a refused value should have been, for the German error page (by parameter name).
EXPECTED = {
    "ars": "ein ARS (12 Ziffern) oder AGS (8 Ziffern)",
    "ozg_id": "eine OZG-ID (z. B. 10000)",
    "at": "ein Datum (z. B. 2026-11-30)",
}
PLACES = {"path": "in der Adresse", "query": "im Parameter"}


def _german_validation(extra: Any) -> str | None:
    """A German sentence naming each refused field of a validation error, if it has any."""
    if not isinstance(extra, list):
        return None
    said = []
    for item in extra:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            key = item["key"]
            place = PLACES.get(str(item.get("source")).rsplit(".", 1)[-1].lower(), "")
            wanted = EXPECTED.get(key)
            said.append(
                f"„{key}“ {place} ist ungültig".replace("  ", " ")
                + (f": erwartet ist {wanted}" if wanted else "")
            )
    return "; ".join(said) + "." if said else None


def _from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    problem = _problem(exc.status_code, exc.detail, exc.extra)
    problem.headers = exc.headers
    if exc.status_code == 400:
        problem.german = _german_validation(exc.extra)  # type: ignore[attr-defined]
    return problem


def _from_integrity_error(exc: IntegrityError) -> ProblemDetailsException:
    # The constraint text can reveal data of others; log it, answer in general terms.
    logger.info("integrity error: %s", exc.orig)
    return _problem(409, "The change conflicts with data already stored.")


def _wants_page(request: Request[Any, Any, Any]) -> bool:
    """Browsers on the German pages get an HTML error page; API clients get problem+json."""
    path = request.url.path
    if path.startswith(("/api/", "/schema", "/health")):
        return False
    best = request.accept.best_match(["text/html", PROBLEM_MEDIA_TYPE, "application/json"])
    return best == "text/html"


def _respond(request: Request[Any, Any, Any], problem: ProblemDetailsException) -> Response[Any]:
    if _wants_page(request):
        title = PAGE_TITLES.get(problem.status_code, problem.title)
        return Template(
            "error.html",
            context={
                "problem": problem,
                "title": title,
                "german": getattr(problem, "german", None),
                "explanation": PAGE_EXPLANATIONS.get(problem.status_code),
                **page_context(request),
            },
            status_code=problem.status_code,
        )
    return problem.to_response(request)


SignIn = Callable[[Request[Any, Any, Any]], Response[Any]]


def _handler(
    convert: Callable[[Any], ProblemDetailsException], sign_in: SignIn | None = None
) -> Callable[..., Response[Any]]:
    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        problem = convert(exc)
        if (
            sign_in is not None
            and problem.status_code == 401
            and request.method in ("GET", "HEAD")
            and _wants_page(request)
        ):
            return sign_in(request)  # a page that needs sign-in: to the form, and back after
        return _respond(request, problem)

    return handle


def handle_database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Any]:
    """A read cancelled by the read statement timeout is the server's overload, not a bug: 503.
    Any other database error stays a 500."""
    if getattr(exc.orig, "sqlstate", None) != QUERY_CANCELED:
        return handle_unexpected(request, exc)
    logger.warning("statement cancelled on %s %s: %s", request.method, request.url.path, exc.orig)
    detail = "The query ran too long and was cancelled; try again later or ask for less."
    return _respond(request, _problem(503, detail))


def handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return _respond(request, _problem(500, "An unexpected error occurred."))


def exception_handlers(sign_in: SignIn | None = None) -> ExceptionHandlersMap:
    """`sign_in` answers a page that needs signing in (401) for a browser: the edge passes
    the sign-in form's redirect (`access.pages.to_login`), so every page does the same."""
    return {
        HTTPException: _handler(_from_http_exception, sign_in),
        TrackerError: _handler(_from_tracker_error, sign_in),
        IntegrityError: _handler(_from_integrity_error),
        DBAPIError: handle_database_error,
        Exception: handle_unexpected,
    }


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """Document problem+json answers; 400 is always included (Litestar documents a legacy shape)."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=HTTPStatus(status).phrase,
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in sorted({400, *statuses})
    }
