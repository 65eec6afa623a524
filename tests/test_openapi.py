"""The committed OpenAPI document is the one the app generates."""

from __future__ import annotations

from tracker.app import create_app, render_openapi
from tracker.settings import PROJECT_ROOT, Settings


def test_committed_spec_matches_the_app() -> None:
    committed = (PROJECT_ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8")
    assert render_openapi(create_app(Settings())) == committed, "run scripts/export-openapi"


def test_every_operation_documents_problem_answers() -> None:
    spec = create_app(Settings()).openapi_schema.to_schema()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            problem = operation["responses"]["400"]["content"]
            assert "application/problem+json" in problem, f"{method.upper()} {path}"
