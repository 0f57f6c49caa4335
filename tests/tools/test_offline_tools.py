"""The offline model's tool calls, through AsyncOpenAI, and the fake upstream's ``[[tools]]``.

A small client-side loop here (stream, assemble the tool-call deltas, run the tools with
``validate_and_run``, send the results back) drives whole conversations, as the
generation loop does, so the triggers, the split arguments, parallel calls, the
bad-arguments retry and the final text are checked end to end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

import msgspec
import pytest
from openai import AsyncOpenAI

from api.llm.offline import compose_reply
from api.llm.offline_tools import MAX_TOOL_TURNS
from api.settings import OFFLINE_MODEL
from api.tools.base import ToolContext, validate_and_run
from api.tools.builtins import BUILTIN_TOOLS
from api.tools.client import client_spec, validate_client_arguments
from tests.fixtures.tools import WEATHER

# The offline model fills in only the required properties: with all three required, its
# calls show an enum's first value and a number's 1 as well as a word of the text.
WEATHER_ALL_REQUIRED = msgspec.structs.replace(
    WEATHER, parameters={**WEATHER.parameters, "required": ["city", "days", "units"]}
)
BUILTINS = {tool.name: tool for tool in BUILTIN_TOOLS}
ALL_TOOLS: list[dict[str, Any]] = msgspec.to_builtins(
    [*(tool.openai_spec() for tool in BUILTIN_TOOLS), client_spec(WEATHER_ALL_REQUIRED)]
)


@dataclass
class Call:
    """One assembled tool call, with the argument pieces it arrived in."""

    id: str
    name: str
    pieces: list[str] = field(default_factory=list)

    @property
    def arguments(self) -> str:
        return "".join(self.pieces)


@dataclass
class Turn:
    """One streamed model response: its text, calls, finish reason and usage."""

    text: str
    calls: list[Call]
    finish_reason: str | None
    completion_tokens: int | None


async def stream_turn(
    client: AsyncOpenAI,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None = ALL_TOOLS,
    model: str = OFFLINE_MODEL,
    **extra: Any,
) -> Turn:
    """Stream one response and assemble it the way a client must (by ``index``)."""
    options: dict[str, Any] = {"tools": tools} if tools is not None else {}
    stream = await client.chat.completions.create(
        model=model,
        messages=cast(Any, messages),
        stream=True,
        stream_options={"include_usage": True},
        **options,
        **extra,
    )
    text, calls, finish, tokens = "", dict[int, Call](), None, None
    async for chunk in stream:
        if chunk.usage is not None:
            tokens = chunk.usage.completion_tokens
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            text += choice.delta.content or ""
            for delta in choice.delta.tool_calls or []:
                assert delta.function is not None
                if delta.index not in calls:
                    # The first delta of a call names it; later ones only add arguments.
                    assert delta.id is not None
                    assert delta.function.name is not None
                    assert delta.type == "function"
                    calls[delta.index] = Call(delta.id, delta.function.name)
                else:
                    assert delta.id is None
                    assert delta.function.name is None
                calls[delta.index].pieces.append(delta.function.arguments or "")
    return Turn(text, [calls[i] for i in sorted(calls)], finish, tokens)


async def tool_result(call: Call, ctx: ToolContext) -> str:
    """What the server (built-ins) or the client (``get_weather``) answers a call with."""
    if call.name == WEATHER_ALL_REQUIRED.name:
        checked = validate_client_arguments(WEATHER_ALL_REQUIRED, call.arguments)
        if checked.error is not None:
            return checked.model_text()
        return json.dumps({"city": checked.arguments["city"], "temp_c": 21})  # type: ignore[index]
    return (await validate_and_run(BUILTINS[call.name], call.arguments, ctx)).model_text()


async def converse(
    client: AsyncOpenAI, text: str, ctx: ToolContext, *, model: str = OFFLINE_MODEL
) -> tuple[list[Turn], list[dict[str, Any]]]:
    """Send ``text``, answer every tool call, until the model answers in text."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": text}]
    turns: list[Turn] = []
    for _ in range(MAX_TOOL_TURNS + 2):
        turn = await stream_turn(client, messages, model=model)
        turns.append(turn)
        if not turn.calls:
            return turns, messages
        messages.append(assistant_turn(turn.calls))
        for call in turn.calls:
            content = await tool_result(call, ctx)
            messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
    raise AssertionError("the model never stopped calling tools")


def assistant_turn(calls: list[Call]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in calls
        ],
    }


@pytest.mark.parametrize(
    ("text", "name", "arguments"),
    [
        ("What time is it in Europe/Paris?", "current_time", {"timezone": "Europe/Paris"}),
        ("what time is it in America/Argentina/Buenos_Aires", "current_time",
         {"timezone": "America/Argentina/Buenos_Aires"}),
        ("What time is it?", "current_time", {"timezone": "UTC"}),
        ("What time is it in Tokyo?", "current_time", {"timezone": "Asia/Tokyo"}),
        ("what time is it in new york", "current_time", {"timezone": "America/New_York"}),
        ("what is 12*(3+4)?", "calculator", {"expression": "12*(3+4)"}),
        ("Calculate 2**10 please.", "calculator", {"expression": "2**10"}),
        ("(what is 7 / 2)", "calculator", {"expression": "7 / 2"}),
        ("What is the sum of 3 and 4.5?", "calculator", {"expression": "3+4.5"}),
        ("Name this thread: Lisbon trip", "set_thread_title", {"title": "Lisbon trip"}),
        ("Please give this chat a title about tapas", "set_thread_title",
         {"title": "About tapas"}),
        ("Search for Lisbon hotels. Thanks!", "search_threads", {"query": "Lisbon hotels"}),
        ("Do you remember the pasta recipe?", "search_threads", {"query": "the pasta recipe"}),
        ("Which model was fastest?", "model_stats", {"scope": "thread"}),
        ("Show stats for all threads", "model_stats", {"scope": "all"}),
        ("Ask get_weather about Paris", "get_weather",
         {"city": "Paris", "days": 1, "units": "metric"}),
        ("call get_weather for Paris please", "get_weather",
         {"city": "Paris", "days": 1, "units": "metric"}),
        ("Use get_weather for 'Rio de Janeiro', thanks", "get_weather",
         {"city": "Rio de Janeiro", "days": 1, "units": "metric"}),
    ],
)  # fmt: skip
async def test_triggers(
    offline: AsyncOpenAI, text: str, name: str, arguments: dict[str, Any]
) -> None:
    turn = await stream_turn(offline, [{"role": "user", "content": text}])
    assert turn.finish_reason == "tool_calls"
    assert turn.text == ""
    [call] = turn.calls
    assert call.name == name
    assert json.loads(call.arguments) == arguments
    assert len(call.pieces) >= 2
    assert call.id.startswith("call_")
    assert turn.completion_tokens == len(call.pieces)


async def test_time_and_sum_make_two_calls_in_one_turn(offline: AsyncOpenAI) -> None:
    messages = [{"role": "user", "content": "What time is it in Asia/Tokyo, and what is 6*7?"}]
    turn = await stream_turn(offline, messages)
    assert turn.finish_reason == "tool_calls"
    assert [(c.name, json.loads(c.arguments)) for c in turn.calls] == [
        ("current_time", {"timezone": "Asia/Tokyo"}),
        ("calculator", {"expression": "6*7"}),
    ]
    assert len({c.id for c in turn.calls}) == 2
    assert all(len(c.pieces) >= 2 for c in turn.calls)
    # Deterministic: the same request gets the same calls, ids included.
    again = await stream_turn(offline, messages)
    assert [(c.id, c.arguments) for c in again.calls] == [(c.id, c.arguments) for c in turn.calls]


async def test_only_offered_tools_are_called(offline: AsyncOpenAI) -> None:
    messages = [{"role": "user", "content": "What time is it? And what is 1+1?"}]
    only_calculator = [msgspec.to_builtins(BUILTINS["calculator"].openai_spec())]
    turn = await stream_turn(offline, messages, tools=only_calculator)
    assert [c.name for c in turn.calls] == ["calculator"]
    # No tools, or tool_choice "none": the usual text reply.
    for tools, extra in ((None, {}), (ALL_TOOLS, {"tool_choice": "none"})):
        plain = await stream_turn(offline, messages, tools=tools, **extra)
        assert plain.calls == []
        assert plain.finish_reason == "stop"
        assert plain.text.startswith("Offline model here. You said:")
    assert plain.text == compose_reply(messages, tools=ALL_TOOLS, tool_choice="none").text


async def test_no_trigger_means_a_text_reply(offline: AsyncOpenAI) -> None:
    turn = await stream_turn(offline, [{"role": "user", "content": "Hello there"}])
    assert turn.calls == []
    assert turn.finish_reason == "stop"
    assert turn.text.startswith("Offline model here.")


async def test_results_become_the_answer(offline: AsyncOpenAI, ctx: ToolContext) -> None:
    turns, messages = await converse(offline, "What is 12*(3+4) and the time in Europe/Paris?", ctx)
    assert len(turns) == 2
    assert [c.name for c in turns[0].calls] == ["current_time", "calculator"]
    final = turns[-1]
    assert final.finish_reason == "stop"
    assert final.text.startswith("It is ")
    assert " in Europe/Paris (" in final.text
    assert final.text.endswith("12*(3+4) = 84.")
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "tool"]


async def test_bad_arguments_then_corrected_retry(offline: AsyncOpenAI, ctx: ToolContext) -> None:
    turns, messages = await converse(
        offline, "What time is it in Europe/Paris and what is 2**10? [[bad-args]]", ctx
    )
    assert len(turns) == 3
    first, retry, final = turns
    # Only the first call of the turn is broken; the other one succeeds at once.
    assert json.loads(first.calls[0].arguments) == {"timezone": 42}
    assert json.loads(first.calls[1].arguments) == {"expression": "2**10"}
    assert messages[2]["content"] == (
        "error: invalid arguments for current_time: Expected `str`, got `int` - at `$.timezone`"
    )
    assert json.loads(messages[3]["content"]) == {"expression": "2**10", "result": 1024}
    # The retry repeats only the failed call, corrected, under a new id.
    [again] = retry.calls
    assert again.name == "current_time"
    assert json.loads(again.arguments) == {"timezone": "Europe/Paris"}
    assert again.id not in {c.id for c in first.calls}
    assert final.text.startswith("It is ")
    assert "2**10 = 1024." in final.text


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Calculate 3*3 [[bad-args]]", "Object contains unknown field `expr`"),
        ("Name this thread: Tapas [[bad-args]]", "length >= 1 - at `$.title`"),
        ("Search for tapas [[bad-args]]", "Expected `int` >= 1 - at `$.limit`"),
        ("Model stats please [[bad-args]]", "Invalid enum value 'everything' - at `$.scope`"),
        ("Ask get_weather about Oslo [[bad-args]]", "arguments are not valid JSON"),
    ],
)
async def test_every_tool_has_a_bad_arguments_variant(
    offline: AsyncOpenAI, ctx: ToolContext, text: str, error: str
) -> None:
    turns, messages = await converse(offline, text, ctx)
    assert len(turns) == 3
    assert error in messages[2]["content"]
    assert messages[2]["content"].startswith("error: invalid arguments for ")
    assert not messages[4]["content"].startswith("error:")
    assert turns[-1].finish_reason == "stop"


async def test_client_function_round_trip(offline: AsyncOpenAI, ctx: ToolContext) -> None:
    turns, _ = await converse(offline, "Use get_weather for Bergen", ctx)
    assert json.loads(turns[0].calls[0].arguments) == {
        "city": "Bergen",
        "days": 1,
        "units": "metric",
    }
    assert turns[-1].text == '`get_weather` returned {"city": "Bergen", "temp_c": 21}.'


async def test_a_city_gets_its_zone_end_to_end(offline: AsyncOpenAI, ctx: ToolContext) -> None:
    turns, _ = await converse(offline, "what time is it in tokyo?", ctx)
    assert json.loads(turns[0].calls[0].arguments) == {"timezone": "Asia/Tokyo"}
    assert turns[-1].text.startswith("It is ")
    assert " in Asia/Tokyo (" in turns[-1].text


async def test_runtime_errors_are_reported_not_retried(
    offline: AsyncOpenAI, ctx: ToolContext
) -> None:
    turns, _ = await converse(offline, "What time is it in Mars/Olympus_Mons?", ctx)
    assert len(turns) == 2
    assert turns[-1].text.startswith("`current_time` failed: unknown timezone 'Mars/Olympus_Mons'")


async def test_title_answer(offline: AsyncOpenAI, ctx: ToolContext) -> None:
    turns, _ = await converse(offline, "Name this thread: Weekend in Porto", ctx)
    assert turns[-1].text == "I named this thread “Weekend in Porto”."


async def test_round_cap_ends_in_text(offline: AsyncOpenAI) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What time is it? [[bad-args]]"}]
    for round_ in range(MAX_TOOL_TURNS):
        bad = Call(f"call_{round_}", "current_time", ['{"timezone":', "42}"])
        messages.append(assistant_turn([bad]))
        messages.append(
            {"role": "tool", "tool_call_id": bad.id, "content": "error: invalid arguments"}
        )
        turn = await stream_turn(offline, messages)
        if round_ < MAX_TOOL_TURNS - 1:
            assert turn.finish_reason == "tool_calls"
    assert turn.finish_reason == "stop"
    assert turn.text.startswith(f"I stopped calling tools after {MAX_TOOL_TURNS} rounds.")


async def test_final_answer_when_no_more_calls_are_allowed(offline: AsyncOpenAI) -> None:
    # What a server past its round limit may do: ask once more, with no tools to call.
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "What is 2+3? [[tool-loop]]"},
        assistant_turn([Call("call_a", "calculator", ['{"expression":', '"2+3"}'])]),
        {"role": "tool", "tool_call_id": "call_a", "content": '{"expression":"2+3","result":5}'},
    ]
    for tools, extra in ((ALL_TOOLS, {"tool_choice": "none"}), (None, {})):
        turn = await stream_turn(offline, messages, tools=tools, **extra)
        assert turn.calls == []
        assert turn.text == "2+3 = 5."


async def test_tool_loop_keeps_calling(offline: AsyncOpenAI, ctx: ToolContext) -> None:
    # For testing a server's own round limit: the model never stops by itself (soon).
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What is 1+1? [[tool-loop]]"}]
    for _ in range(MAX_TOOL_TURNS + 2):
        turn = await stream_turn(offline, messages)
        assert [c.name for c in turn.calls] == ["calculator"]
        messages.append(assistant_turn(turn.calls))
        content = await tool_result(turn.calls[0], ctx)
        messages.append({"role": "tool", "tool_call_id": turn.calls[0].id, "content": content})


async def test_non_streamed_tool_calls(offline: AsyncOpenAI) -> None:
    response = await offline.chat.completions.create(
        model=OFFLINE_MODEL,
        messages=[{"role": "user", "content": "What time is it in UTC? And 2+2?"}],
        tools=cast(Any, ALL_TOOLS),
    )
    choice = response.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    calls = choice.message.tool_calls or []
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [  # type: ignore[union-attr]
        ("current_time", {"timezone": "UTC"}),
        ("calculator", {"expression": "2+2"}),
    ]


# --- the fake upstream: the same model over real HTTP --------------------------------


async def test_fake_upstream_streams_split_tool_calls(upstream: AsyncOpenAI) -> None:
    messages = [{"role": "user", "content": "[[tools]] What time is it in Europe/Oslo? 3*3?"}]
    turn = await stream_turn(upstream, messages, model="fake-small")
    assert turn.finish_reason == "tool_calls"
    assert [(c.name, json.loads(c.arguments)) for c in turn.calls] == [
        ("current_time", {"timezone": "Europe/Oslo"}),
        ("calculator", {"expression": "3*3"}),
    ]
    for call in turn.calls:
        assert len(call.pieces) >= 5
        assert all(len(piece) <= 3 for piece in call.pieces)


async def test_fake_upstream_tool_round_trip(upstream: AsyncOpenAI, ctx: ToolContext) -> None:
    turns, _ = await converse(
        upstream, "[[tools]] [[bad-args]] What time is it in Asia/Seoul?", ctx, model="fake-small"
    )
    assert [len(t.calls) for t in turns] == [1, 1, 0]
    assert json.loads(turns[0].calls[0].arguments) == {"timezone": 42}
    assert turns[-1].text.startswith("It is ")
    assert "in Asia/Seoul" in turns[-1].text


async def test_fake_upstream_needs_the_directive_and_tools(upstream: AsyncOpenAI) -> None:
    without_directive = await stream_turn(
        upstream, [{"role": "user", "content": "What time is it? [[chunks:3]]"}], model="fake-small"
    )
    assert without_directive.text == "chunk-0 chunk-1 chunk-2"
    without_tools = await stream_turn(
        upstream,
        [{"role": "user", "content": "[[tools]] What time is it? [[chunks:2]]"}],
        tools=None,
        model="fake-small",
    )
    assert without_tools.text == "chunk-0 chunk-1"
