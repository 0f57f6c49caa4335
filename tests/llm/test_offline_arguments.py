"""The offline model's arguments come from what the message names, not from a stray word."""

from __future__ import annotations

import zoneinfo
from typing import Any

import pytest

from api.llm.offline_arguments import client_arguments, timezone

WEATHER: dict[str, Any] = {
    "name": "get_weather",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city"],
    },
}
TOOL_NAMES = ("get_weather", "current_time", "send_note")


@pytest.mark.parametrize(
    ("text", "zone"),
    [
        ("what time is it in Tokyo", "Asia/Tokyo"),
        ("what time is it in tokyo?", "Asia/Tokyo"),
        ("What time is it in New York?", "America/New_York"),
        ("current time in new york please", "America/New_York"),
        ("What time is it in Paris?", "Europe/Paris"),
        ("time in Buenos Aires", "America/Argentina/Buenos_Aires"),
        ("time in Ho Chi Minh", "Asia/Ho_Chi_Minh"),
        ("time in Port-au-Prince", "America/Port-au-Prince"),
        ("time in Dawson Creek", "America/Dawson_Creek"),
        # An IANA name in the text wins over a place, wherever it stands.
        ("What time is it in Tokyo, Europe/Paris?", "Europe/Paris"),
        ("What time is it in Tokyo in UTC?", "UTC"),
        # Nothing named: the fallback, also for words that are zone places elsewhere.
        ("What time is it?", "UTC"),
        ("what time is it in Springfield", "UTC"),
        ("What time is it at Easter in New Jersey, up north?", "UTC"),
        ("Is it time to wake up?", "UTC"),
    ],
)
def test_timezone_from_the_place_named(text: str, zone: str) -> None:
    assert timezone(text) == zone
    assert zone in zoneinfo.available_timezones()


@pytest.mark.parametrize(
    ("text", "city"),
    [
        ("call get_weather for Paris please", "Paris"),
        ("Use get_weather for New York please.", "New York"),
        ("Ask get_weather about Oslo, Thanks", "Oslo"),
        ("Please call get_weather for Rome", "Rome"),
        # Quoted wins, with or without capitals.
        ('get_weather for "san francisco" not Rome', "san francisco"),
        ("I'd like get_weather for 'Rio de Janeiro'", "Rio de Janeiro"),
        ("get_weather for “Lyon”", "Lyon"),
        ('call "get_weather" for Paris', "Paris"),
        # The sentence's first words, tool names and common words are not values.
        ("Paris. Call get_weather. Thanks!", "Paris"),
        ("Get_weather, please. I want Madrid", "Madrid"),
        ("Hi! Run send_note then get_weather for Lisbon", "Lisbon"),
        # After the tool's name comes first; before it, if nothing follows.
        ("On Monday use get_weather for Bergen", "Bergen"),
        ("For Bergen use get_weather", "Bergen"),
        # No capitals or quotes: a place the text names, spelled as the zone spells it.
        ("call get_weather for paris please", "Paris"),
        ("get_weather in los angeles", "Los Angeles"),
        # Nothing named at all: the text's last word, as before.
        ("call get_weather now", "now"),
        ("get_weather", "offline"),
    ],
)
def test_string_from_the_entity_named(text: str, city: str) -> None:
    assert client_arguments("get_weather", WEATHER, text, TOOL_NAMES) == {"city": city}


def test_every_string_gets_the_value_and_others_their_example() -> None:
    function = {
        "parameters": {
            "properties": {
                "city": {"type": "string"},
                "country": {"type": ["null", "string"]},
                "units": {"enum": ["metric", "imperial"]},
                "days": {"type": "integer"},
                "alerts": {"type": "boolean"},
            },
            "required": ["city", "country", "units", "days", "alerts"],
        }
    }
    assert client_arguments("get_weather", function, "get_weather for Nice", TOOL_NAMES) == {
        "city": "Nice",
        "country": "Nice",
        "units": "metric",
        "days": 1,
        "alerts": True,
    }
    assert client_arguments("get_weather", {"parameters": 3}, "get_weather", TOOL_NAMES) == {}
