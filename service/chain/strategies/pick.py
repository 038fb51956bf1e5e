"""One short, constrained call that gives each of several items one of the question's sides, or
"none": the stance call (arguments) and the voices call (speakers) both make it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, create_model

from ...llm import Backend, Usage, structured

NONE = "none"


def pick_sides(
    backend: Backend,
    name: str,
    prompt: str,
    keys: list[str],
    sides: list[str],
    usage: Usage,
    **variables: Any,
) -> dict[str, str]:
    """Key -> the side the model gives it, one call whose schema `name` allows only `sides` or
    "none" for each key; the keys it gives to none are left out. `variables` fill the prompt."""
    choice = Literal[tuple([*sides, NONE])]  # type: ignore[valid-type]
    schema: type[BaseModel] = create_model(name, **{k: (choice, ...) for k in keys})  # type: ignore[call-overload]
    found = structured(
        backend, schema, prompt, usage, max_tokens=20 + 16 * len(keys), sides=sides, **variables
    )
    return {k: side for k in keys if (side := getattr(found, k)) != NONE}
