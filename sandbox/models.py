"""Amazon's official models, loaded from ``AMAZON_MODELS_DIR`` and used to check requests and responses.

The models are read where Amazon's files live (never copied into this repository). Rates and bursts come from
each operation's "Usage Plan" table, so the sandbox throttles exactly as the published defaults say.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft4Validator, Draft7Validator
from jsonschema.validators import validator_for

#: Swagger files the sandbox serves (operation IDs are unique across them), and the JSON_LISTINGS_FEED
#: schemas it processes.
API_MODELS = ("sellers.json", "feeds_2021-06-30.json", "listingsItems_2021-08-01.json",
              "reports_2021-06-30.json")
FEED_SCHEMA = "listings-feed-schema-v2.json"
REPORT_SCHEMA = "listings-feed-processing-report-schema-v2.json"

_USAGE_ROW = re.compile(r"^\|\s*([0-9.]+)\s*\|\s*([0-9]+)\s*\|\s*$", re.MULTILINE)


def models_dir(configured: str | None = None) -> Path:
    """Return the folder of Amazon's models: ``configured``, else ``AMAZON_MODELS_DIR``, else
    ``../shared/amazon-spapi`` relative to the repository root."""
    chosen = configured or os.environ.get("AMAZON_MODELS_DIR")
    if chosen:
        return Path(chosen).resolve()
    repo_root = Path(__file__).resolve().parent.parent
    return (repo_root / ".." / "shared" / "amazon-spapi").resolve()


@dataclass(frozen=True)
class Parameter:
    """One query or path parameter of an operation, as the model declares it."""

    name: str
    location: str
    required: bool
    schema: dict[str, Any]


@dataclass
class Operation:
    """One SP-API operation: its path, parameters, usage plan and response schemas."""

    operation_id: str
    method: str
    path: str
    rate: float
    burst: int
    parameters: list[Parameter] = field(default_factory=list)
    body: Draft4Validator | None = None
    responses: dict[int, Draft4Validator | None] = field(default_factory=dict)
    rate_limit_statuses: frozenset[int] = frozenset()


class Models:
    """Every operation the sandbox serves, plus validators for the feed document and its report."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        if not directory.is_dir():
            raise RuntimeError(
                f"Amazon's models were not found in {directory}: set AMAZON_MODELS_DIR to the folder holding "
                "sellers.json and feeds_2021-06-30.json"
            )
        self.operations: dict[str, Operation] = {}
        for name in API_MODELS:
            self._load_api(json.loads((directory / name).read_text()))
        self.feed_schema = self._json_schema(FEED_SCHEMA)
        self.report_schema = self._json_schema(REPORT_SCHEMA)

    def _json_schema(self, name: str) -> Draft7Validator:
        schema = json.loads((self.directory / name).read_text())
        cls = validator_for(schema, default=Draft7Validator)  # the schema's own $schema draft
        cls.check_schema(schema)
        return cls(schema)

    def _load_api(self, model: dict[str, Any]) -> None:
        definitions = model.get("definitions", {})

        def validator(schema: dict[str, Any] | None) -> Draft4Validator | None:
            if schema is None:
                return None
            # Swagger 2.0 schemas are a JSON Schema draft 4 dialect; refs point into "#/definitions/…".
            return Draft4Validator({**schema, "definitions": definitions})

        for path, item in model["paths"].items():
            shared = item.get("parameters", [])
            for method, spec in item.items():
                if method == "parameters":
                    continue
                rows = _USAGE_ROW.findall(spec.get("description", ""))
                rate, burst = (float(rows[-1][0]), int(rows[-1][1])) if rows else (1.0, 1)
                op = Operation(operation_id=spec["operationId"], method=method.upper(), path=path,
                               rate=rate, burst=burst)
                for param in [*shared, *spec.get("parameters", [])]:
                    if param["in"] == "body":
                        op.body = validator(param["schema"])
                        continue
                    schema = {k: v for k, v in param.items()
                              if k not in ("name", "in", "required", "description")
                              and not k.startswith("x-")}
                    op.parameters.append(Parameter(param["name"], param["in"], bool(param.get("required")),
                                                   schema))
                statuses = set()
                for status, response in spec["responses"].items():
                    op.responses[int(status)] = validator(response.get("schema"))
                    if "x-amzn-RateLimit-Limit" in response.get("headers", {}):
                        statuses.add(int(status))
                op.rate_limit_statuses = frozenset(statuses)
                self.operations[op.operation_id] = op


def errors_of(validator: Draft4Validator | Draft7Validator, instance: Any, limit: int = 5) -> list[str]:
    """Return readable messages for the first few schema errors of ``instance``."""
    messages = []
    for error in validator.iter_errors(instance):
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        messages.append(f"{where}: {error.message}")
        if len(messages) >= limit:
            break
    return messages


def parse_parameter(param: Parameter, raw: str) -> Any:
    """Turn a query-string value into the JSON value the model's type describes."""
    kind = param.schema.get("type")
    if kind == "array":
        return raw.split(",") if raw else []
    if kind == "integer":
        return int(raw) if re.fullmatch(r"-?[0-9]+", raw) else raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw
