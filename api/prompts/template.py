"""Prompt templates: ``{{name}}`` variables, rendered strictly.

A variable is ``{{name}}`` (spaces inside the braces allowed), ``name`` a letter or
``_`` followed by letters, digits or ``_``. Rendering takes the version's defaults,
then the given values over them; a variable of the template left without a value is a
400 naming it, and so is a value (or a default) for a name the template does not use:
a typo fails loudly rather than silently sending the template half filled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from api.errors import BadRequestError

VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def template_variables(template: str) -> list[str]:
    """The variables of ``template``, each once, in order of first use."""
    return list(dict.fromkeys(VARIABLE.findall(template)))


def check_defaults(template: str, defaults: Mapping[str, str], field: str = "variables") -> None:
    """A 400 naming the defaults given for variables ``template`` does not use."""
    unused = sorted(set(defaults) - set(template_variables(template)))
    if unused:
        raise BadRequestError(
            f"{field} names variables the template does not use: {', '.join(unused)}",
            extra={"field": field, "unused": unused},
        )


def render(
    template: str,
    defaults: Mapping[str, str],
    values: Mapping[str, str],
    field: str = "prompt_variables",
) -> str:
    """``template`` with every variable replaced by its value (``values`` over
    ``defaults``); a 400 naming ``field`` for a missing or an unused variable."""
    used = template_variables(template)
    unused = sorted(set(values) - set(used))
    if unused:
        raise BadRequestError(
            f"{field} names variables the prompt does not use: {', '.join(unused)}",
            extra={"field": field, "unused": unused},
        )
    filled = {**defaults, **values}
    missing = [name for name in used if name not in filled]
    if missing:
        raise BadRequestError(
            f"{field} is missing a value for: {', '.join(missing)}",
            extra={"field": field, "missing": missing},
        )
    # One pass with a function: a value containing "{{x}}" is not rendered again.
    return VARIABLE.sub(lambda match: filled[match.group(1)], template)
