"""Request bodies made from the platform's own request models (the ad-hoc export's run config, a
tenant schedule), so each field's name, type, default and description is declared once: a body takes
what its model takes, less what the path and the token already say (the tenant, who asks), and
nothing else. The model itself then checks the whole request, and its refusals answer as field errors.
"""

from __future__ import annotations

from collections.abc import Collection

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from export_platform.api.problems import Problem


def body_model(model: type[BaseModel], name: str, doc: str, *, leave_out: Collection[str]) -> type[BaseModel]:
    """A body of ``model``'s fields but ``leave_out``, refusing any other field. Only the fields'
    types are checked when it is read; ``model``'s validators run when the route builds the model."""
    fields: dict[str, object] = {
        field: (info.annotation, info) for field, info in model.model_fields.items() if field not in leave_out
    }
    return create_model(name, __config__=ConfigDict(extra="forbid"), __doc__=doc, **fields)  # type: ignore[call-overload]


def _field_and_message(
    location: tuple[object, ...], message: str, fields: Collection[str]
) -> tuple[str, str]:
    """Where a refusal points: its location, or for a rule across fields the field its message
    starts with (``date_to: ...``, ``day_of_week is required ...``); the body as a whole otherwise."""
    if location:
        return "body." + ".".join(map(str, location)), message.removeprefix(f"{location[0]}: ")
    for field in fields:
        if message.startswith(f"{field}: "):
            return f"body.{field}", message.removeprefix(f"{field}: ")
        if message.startswith(f"{field} "):
            return f"body.{field}", message
    return "body", message


def refused_fields(error: ValidationError, fields: Collection[str]) -> Problem:
    """The 422 for a request the model refused, one entry per refusal, in the shape every invalid
    field of this API is answered in. The refused values are not echoed back."""
    errors = []
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        field, message = _field_and_message(tuple(problem["loc"]), message, fields)
        errors.append({"field": field, "message": message})
    detail = "The request has invalid fields; see errors."
    return Problem(422, "invalid_request", "Unprocessable Content", detail, errors=errors)
