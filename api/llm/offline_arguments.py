"""The arguments the offline model takes from the user's message for its calls.

- A timezone: the first IANA-looking name in the text (``Europe/Paris``, ``UTC``), else
  the first place a zone of ``zoneinfo.available_timezones()`` is named after, in any
  case ("tokyo" → ``Asia/Tokyo``, "New York" → ``America/New_York``), else ``UTC``.
- A string: the first quoted value ("…", '…' or “…”), else the first capitalised word or
  phrase that is not a sentence's first word or a common word such as "Please"; of
  either, one after the tool's name in the text comes before one ahead of it. Else a
  place the text names, as the zone spells it ("paris" → "Paris"), else the text's last
  word. A tool's name is never the value.
- Other required properties: an enum's first value, 1 for numbers, true, [] or {}.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Collection, Mapping
from functools import cache
from typing import Any

_ZONE = re.compile(r"\b[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z0-9_+\-]+)+|\b(?:UTC|GMT)\b")
# The areas whose zones are named after places; US/, Canada/, Etc/ and the like name
# regions ("US/Eastern", "Mexico/General") or offsets.
_PLACE_AREAS = frozenset(
    {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe"}
    | {"Indian", "Pacific"}
)
# Zone places that are everyday words (or, for Jersey, the end of "New Jersey"): matched,
# they would put "what time is it at Easter" or "…in the north" in a distant timezone.
_EVERYDAY_PLACES = frozenset(
    {"act", "center", "christmas", "easter", "jersey", "midway", "north", "oral", "resolute"}
    | {"reunion", "south", "troll", "virgin", "wake", "west"}
)
_SEPARATORS = re.compile(r"[\s_-]+")
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|(?<!\w)'([^']+)'(?!\w)")
_WORD = re.compile(r"[^\W\d_][\w'\u2019-]*")
_SENTENCE_END = re.compile(r"(?:^|[.!?])\s*$")
_COMMON_WORDS = frozenset(
    {"please", "thanks", "thank", "i", "i'm", "ok", "okay", "hi", "hello", "hey", "yes", "no"}
)


def timezone(text: str) -> str:
    """The timezone the text names: an IANA name, else a place's zone, else ``UTC``."""
    explicit = _ZONE.search(text)
    if explicit:
        return explicit.group(0)
    place = _place(text)
    return place[0] if place else "UTC"


def client_arguments(
    name: str, function: Mapping[str, Any], text: str, tool_names: Collection[str]
) -> dict[str, Any]:
    """Values for the required properties of the client function ``name``."""
    parameters = function.get("parameters")
    if not isinstance(parameters, Mapping):
        return {}
    properties = parameters.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    required = parameters.get("required")
    string = _string_value(text, name, tool_names)
    arguments: dict[str, Any] = {}
    for key in required if isinstance(required, list) else []:
        spec = properties.get(key)
        arguments[str(key)] = _example_value(spec if isinstance(spec, Mapping) else {}, string)
    return arguments


def _example_value(spec: Mapping[str, Any], string: str) -> Any:
    enum = spec.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    return {"number": 1, "integer": 1, "boolean": True, "array": [], "object": {}}.get(
        str(kind), string
    )


def _string_value(text: str, tool: str, tool_names: Collection[str]) -> str:
    names = {name.lower() for name in (tool, *tool_names)}
    mention = re.search(rf"(?<![\w-]){re.escape(tool)}(?![\w-])", text, re.IGNORECASE)
    after = mention.end() if mention else 0
    quoted = [
        (found.start(), value.strip())
        for found in _QUOTED.finditer(text)
        for value in found.groups()
        if value and value.strip() and value.strip().lower() not in names
    ]
    for candidates in (quoted, _capitalised(text, names)):
        if candidates:
            # Stable sort: those after the tool's name first, each group in text order.
            return sorted(candidates, key=lambda c: c[0] < after)[0][1]
    place = _place(text)
    if place:
        return place[1]
    words = [w for w in _WORD.findall(text) if w.lower() not in names]
    return words[-1] if words else "offline"


def _capitalised(text: str, tool_names: set[str]) -> list[tuple[int, str]]:
    """Runs of capitalised words as (start, phrase), without common words, the (lower-case)
    ``tool_names`` and a sentence's first word."""
    skip = _COMMON_WORDS | tool_names
    runs: list[tuple[int, str]] = []
    run_end: int | None = None
    for word in _WORD.finditer(text):
        if (
            not word.group()[0].isupper()
            or word.group().lower() in skip
            or _SENTENCE_END.search(text, 0, word.start())
        ):
            run_end = None
        elif run_end is not None and not text[run_end : word.start()].strip():
            runs[-1] = (runs[-1][0], text[runs[-1][0] : word.end()])
            run_end = word.end()
        else:
            runs.append((word.start(), word.group()))
            run_end = word.end()
    return runs


def _place(text: str) -> tuple[str, str] | None:
    """The zone of the first place the text names, and the place as the zone spells it."""
    pattern, zones = _places()
    found = pattern.search(text)
    if not found:
        return None
    zone = zones[_SEPARATORS.sub(" ", found.group(0).lower())]
    return zone, zone.rpartition("/")[2].replace("_", " ")


@cache
def _places() -> tuple[re.Pattern[str], dict[str, str]]:
    """A pattern for any place a zone is named after, and each place's zone by its name."""
    zones: dict[str, str] = {}
    # Most parts first, as "America/Argentina/Buenos_Aires" is the zone that the older
    # "America/Buenos_Aires" links to; then by name, so the choice never varies.
    for key in sorted(zoneinfo.available_timezones(), key=lambda k: (-k.count("/"), k)):
        area, _, place = key.partition("/")
        name = _SEPARATORS.sub(" ", key.rpartition("/")[2].lower())
        if area in _PLACE_AREAS and place and name not in _EVERYDAY_PLACES:
            zones.setdefault(name, key)
    # Longest first, so that "Dawson Creek" is not taken for "Dawson".
    names = sorted(zones, key=lambda n: (-len(n), n))
    alternatives = "|".join(r"[\s_-]+".join(map(re.escape, n.split())) for n in names)
    return re.compile(rf"(?<![\w/-])(?:{alternatives})(?![\w/-])", re.IGNORECASE), zones
