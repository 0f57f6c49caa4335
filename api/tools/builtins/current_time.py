"""``current_time``: the date and time now in an IANA timezone."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from api.tools.base import Tool, ToolContext, ToolError


class CurrentTimeArgs(msgspec.Struct, forbid_unknown_fields=True):
    """Arguments of ``current_time``."""

    timezone: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=64,
            description='An IANA timezone name, e.g. "Europe/Paris", "America/New_York", "UTC".',
        ),
    ]


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    # ValueError: names zoneinfo refuses outright (absolute paths, "..", and so on).
    except (ZoneInfoNotFoundError, ValueError):
        raise ToolError(
            f"unknown timezone {name!r}; use an IANA name like 'Europe/Paris'"
        ) from None


async def current_time(args: CurrentTimeArgs, ctx: ToolContext) -> dict[str, str]:
    """The current time in ``args.timezone`` (ISO 8601, to the second) and its weekday."""
    now = datetime.now(_zone(args.timezone))
    return {
        "timezone": args.timezone,
        "iso": now.isoformat(timespec="seconds"),
        "weekday": now.strftime("%A"),
    }


TOOL = Tool(
    name="current_time",
    description="Get the current date, time and weekday in an IANA timezone.",
    arguments=CurrentTimeArgs,
    handler=current_time,
    timeout_s=2,
)
