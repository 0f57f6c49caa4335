"""Server-side tools: argument validation, each built-in, client functions, the system prompt."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Annotated, Any

import anyio
import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.errors import BadRequestError
from api.schemas.tools import ClientFunction
from api.tools.base import Tool, ToolContext, ToolError, ToolOutcome, validate_and_run
from api.tools.builtins import BUILTIN_TOOLS, DEFAULT_TOOL_NAMES
from api.tools.client import check_client_function, client_spec, validate_client_arguments
from api.tools.prompt import SEPARATOR, THREAD_INSTRUCTIONS, build_system_prompt
from api.tools.registry import ToolRegistry, default_registry
from db.models import LOCAL_PRINCIPAL_ID, Message, Thread
from tests.fixtures.threads import insert_thread
from tests.fixtures.tools import WEATHER

TOOLS = {tool.name: tool for tool in BUILTIN_TOOLS}


async def add_messages(
    factory: async_sessionmaker[AsyncSession], thread_id: uuid.UUID, *rows: dict[str, Any]
) -> list[uuid.UUID]:
    """Insert a chain of messages (each the parent of the next); return their ids."""
    ids: list[uuid.UUID] = []
    async with factory() as session, session.begin():
        parent: uuid.UUID | None = None
        for row in rows:
            message = Message(thread_id=thread_id, parent_id=parent, **row)
            session.add(message)
            await session.flush()
            parent = message.id
            ids.append(message.id)
    return ids


async def run(name: str, arguments: object, ctx: ToolContext) -> ToolOutcome:
    raw = arguments if isinstance(arguments, str) else msgspec.json.encode(arguments).decode()
    return await validate_and_run(TOOLS[name], raw, ctx)


# --- validation of arguments -------------------------------------------------------


class EchoArgs(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=5)]
    count: Annotated[int, msgspec.Meta(ge=1, le=3)] = 1


class Calls:
    """Counts handler runs, to prove invalid arguments never reach the handler."""

    def __init__(self) -> None:
        self.count = 0

    async def echo(self, args: EchoArgs, ctx: ToolContext) -> dict[str, Any]:
        self.count += 1
        return {"text": args.text * args.count}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"text": "ab"', "arguments are not valid JSON"),
        ("", "arguments are not valid JSON"),
        ('{"text": 5}', "Expected `str`, got `int` - at `$.text`"),
        ("{}", "Object missing required field `text`"),
        ('{"text": "ab", "extra": 1}', "Object contains unknown field `extra`"),
        ('{"text": "ab", "count": 0}', "Expected `int` >= 1 - at `$.count`"),
        ('{"text": "abcdefg"}', "Expected `str` of length <= 5 - at `$.text`"),
        ("[1]", "Expected `object`, got `array`"),
    ],
    ids=[
        "malformed",
        "empty",
        "wrong-type",
        "missing",
        "unknown",
        "too-small",
        "too-long",
        "array",
    ],
)
async def test_invalid_arguments_are_rejected_naming_the_field(
    ctx: ToolContext, arguments: str, expected: str
) -> None:
    calls = Calls()
    tool = Tool(name="echo", description="Echo.", arguments=EchoArgs, handler=calls.echo)
    outcome = await validate_and_run(tool, arguments, ctx)
    assert outcome.arguments is None
    assert outcome.output is None
    assert outcome.error is not None
    assert outcome.error.startswith("invalid arguments for echo: ")
    assert expected in outcome.error
    assert outcome.model_text() == "error: " + outcome.error
    assert calls.count == 0


async def test_valid_arguments_run_the_handler(ctx: ToolContext) -> None:
    calls = Calls()
    tool = Tool(name="echo", description="Echo.", arguments=EchoArgs, handler=calls.echo)
    outcome = await validate_and_run(tool, '{"text": "ab", "count": 2}', ctx)
    assert outcome == ToolOutcome(arguments={"text": "ab", "count": 2}, output={"text": "abab"})
    assert outcome.model_text() == '{"text":"abab"}'
    assert calls.count == 1


async def test_handler_timeout_becomes_an_error(ctx: ToolContext) -> None:
    async def slow(args: EchoArgs, ctx: ToolContext) -> str:
        await anyio.sleep(10)
        return "never"

    tool = Tool(name="slow", description=".", arguments=EchoArgs, handler=slow, timeout_s=0.05)
    with anyio.fail_after(2):
        outcome = await validate_and_run(tool, '{"text": "a"}', ctx)
    assert outcome.error == "slow timed out after 0.05s"
    assert outcome.arguments == {"text": "a", "count": 1}


async def test_handler_exceptions_become_errors(ctx: ToolContext) -> None:
    async def broken(args: EchoArgs, ctx: ToolContext) -> str:
        raise RuntimeError("disk on fire")

    async def refusing(args: EchoArgs, ctx: ToolContext) -> str:
        raise ToolError("text must be a palindrome")

    async def own_timeout(args: EchoArgs, ctx: ToolContext) -> str:
        raise TimeoutError("the backend timed out")

    async def unserializable(args: EchoArgs, ctx: ToolContext) -> object:
        return object()

    outcomes = {
        name: await validate_and_run(
            Tool(name=name, description=".", arguments=EchoArgs, handler=handler),
            '{"text": "a"}',
            ctx,
        )
        for name, handler in [
            ("broken", broken),
            ("refusing", refusing),
            ("own_timeout", own_timeout),
            ("unserializable", unserializable),
        ]
    }
    assert outcomes["broken"].error == "broken failed: RuntimeError: disk on fire"
    assert outcomes["refusing"].error == "text must be a palindrome"
    # A TimeoutError of the handler's own is its failure, not our time limit.
    assert (
        outcomes["own_timeout"].error == "own_timeout failed: TimeoutError: the backend timed out"
    )
    error = outcomes["unserializable"].error
    assert error is not None
    assert error.startswith("unserializable failed: TypeError")


class Inner(msgspec.Struct, forbid_unknown_fields=True):
    city: str


class Outer(msgspec.Struct, forbid_unknown_fields=True):
    where: Inner
    also: list[Inner] = []


def test_schemas_are_self_contained_object_schemas() -> None:
    for tool in BUILTIN_TOOLS:
        schema = tool.parameters()
        assert schema["type"] == "object"
        assert schema["additionalProperties"] is False
        assert "$ref" not in msgspec.json.encode(schema).decode()
        assert "$defs" not in schema
        assert msgspec.to_builtins(tool.openai_spec()) == {
            "type": "function",
            "function": {"name": tool.name, "description": tool.description, "parameters": schema},
        }

    async def nothing(args: Outer, ctx: ToolContext) -> None:
        return None

    nested = Tool(name="nested", description=".", arguments=Outer, handler=nothing).parameters()
    encoded = msgspec.json.encode(nested).decode()
    assert "$ref" not in encoded
    assert "$defs" not in encoded
    assert nested["properties"]["where"]["properties"]["city"] == {"type": "string"}
    assert nested["properties"]["also"]["items"]["required"] == ["city"]


def test_schema_carries_the_msgspec_constraints() -> None:
    schema = TOOLS["search_threads"].parameters()
    assert schema["required"] == ["query"]
    assert schema["properties"]["query"]["minLength"] == 1
    assert schema["properties"]["query"]["maxLength"] == 200
    assert schema["properties"]["limit"] | {"description": ""} == {
        "type": "integer",
        "minimum": 1,
        "maximum": 20,
        "default": 5,
        "description": "",
    }


def test_registry() -> None:
    registry = default_registry()
    assert registry.names() == sorted(DEFAULT_TOOL_NAMES)
    assert registry.default_names() == DEFAULT_TOOL_NAMES
    assert set(DEFAULT_TOOL_NAMES) == {
        "set_thread_title",
        "calculator",
        "current_time",
        "search_threads",
        "model_stats",
    }
    assert registry.get("calculator") is TOOLS["calculator"]
    assert registry.get("nope") is None
    assert registry.unknown(["calculator", "nope"]) == ["nope"]
    listed = registry.all()
    assert [info.name for info in listed] == registry.names()
    assert listed[0].parameters == registry.get(listed[0].name).parameters()  # type: ignore[union-attr]
    assert [s.function.name for s in registry.openai_specs(["current_time", "x"])] == [
        "current_time"
    ]
    assert ToolRegistry().names() == []
    with pytest.raises(ValueError, match="two tools"):
        ToolRegistry([TOOLS["calculator"], TOOLS["calculator"]])
    with pytest.raises(ValueError, match="not registered"):
        ToolRegistry([TOOLS["calculator"]], default_names=["current_time"])


# --- calculator ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("12*(3+4)", 84),
        ("2**10", 1024),
        ("7/2", 3.5),
        ("7//2", 3),
        ("7 % 3", 1),
        ("-(3 - 5) * +2", 4),
        ("2**-2", 0.25),
        ("10**100", 10**100),
        ("1.5e3 + 0.5", 1500.5),
    ],
)
async def test_calculator(ctx: ToolContext, expression: str, result: float) -> None:
    outcome = await run("calculator", {"expression": expression}, ctx)
    assert outcome.error is None
    assert outcome.output == {"expression": expression, "result": result}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("__import__('os').system('true')", "function calls are not allowed"),
        ("x + 1", "names are not allowed: 'x'"),
        ("(1).real", "attribute access is not allowed"),
        ("[1, 2][0]", "subscripts are not allowed"),
        ("1 < 2", "comparisons are not allowed"),
        ("'a' * 3", "only numbers are allowed, not 'a'"),
        ("True + 1", "only numbers are allowed, not True"),
        ("2 ^ 3", "operator ^ is not allowed"),
        ("2 ** 101", "exponent 101 is too large"),
        ("9 ** 9 ** 9", "exponent 387420489 is too large"),
        ("(10 ** 60) ** 2", "the result is larger than 1e+100"),
        ("10 ** 100 * 10", "the result is larger than 1e+100"),
        ("9" * 101, "the result is larger than 1e+100"),
        ("1 / 0", "division by zero"),
        ("5 // (2 - 2)", "division by zero"),
        ("5 % 0", "division by zero"),
        ("0 ** -1", "division by zero"),
        ("(-8) ** 0.5", "not a real number"),
        ("1 +", "not a valid arithmetic expression"),
    ],
)
async def test_calculator_refuses(ctx: ToolContext, expression: str, expected: str) -> None:
    outcome = await run("calculator", {"expression": expression}, ctx)
    assert outcome.error is not None
    assert expected in outcome.error
    assert outcome.arguments == {"expression": expression}


async def test_calculator_bad_arguments(ctx: ToolContext) -> None:
    too_long = await run("calculator", {"expression": "1+" * 100 + "1"}, ctx)
    assert too_long.error is not None
    assert "length <= 200 - at `$.expression`" in too_long.error
    renamed = await run("calculator", {"expr": "1+1"}, ctx)
    assert renamed.error == "invalid arguments for calculator: Object contains unknown field `expr`"


# --- current_time --------------------------------------------------------------------


async def test_current_time(ctx: ToolContext) -> None:
    outcome = await run("current_time", {"timezone": "Asia/Kolkata"}, ctx)
    assert outcome.error is None
    output = outcome.output
    assert output["timezone"] == "Asia/Kolkata"
    at = datetime.fromisoformat(output["iso"])
    assert at.utcoffset() is not None
    assert at.utcoffset().total_seconds() == 5.5 * 3600  # type: ignore[union-attr]
    assert output["weekday"] == at.strftime("%A")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "/etc/localtime"])
async def test_current_time_unknown_zone(ctx: ToolContext, zone: str) -> None:
    outcome = await run("current_time", {"timezone": zone}, ctx)
    assert outcome.error is not None
    assert outcome.error.startswith(f"unknown timezone {zone!r}")


async def test_current_time_bad_arguments(ctx: ToolContext) -> None:
    outcome = await run("current_time", {"timezone": 42}, ctx)
    assert outcome.error == (
        "invalid arguments for current_time: Expected `str`, got `int` - at `$.timezone`"
    )


# --- set_thread_title ----------------------------------------------------------------


async def test_set_thread_title(
    ctx: ToolContext, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        before = await session.get_one(Thread, ctx.thread_id)
    outcome = await run("set_thread_title", {"title": "  Trip   to Lisbon "}, ctx)
    assert outcome.error is None
    assert outcome.output == {"title": "Trip to Lisbon"}
    async with session_factory() as session:
        after = await session.get_one(Thread, ctx.thread_id)
    assert after.title == "Trip to Lisbon"
    assert after.updated_at >= before.updated_at


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("", "Expected `str` of length >= 1 - at `$.title`"),
        ("x" * 81, "Expected `str` of length <= 80 - at `$.title`"),
        ("   ", "title must not be blank"),
    ],
)
async def test_set_thread_title_bad_arguments(
    ctx: ToolContext, session_factory: async_sessionmaker[AsyncSession], title: str, expected: str
) -> None:
    outcome = await run("set_thread_title", {"title": title}, ctx)
    assert outcome.error is not None
    assert expected in outcome.error
    async with session_factory() as session:
        assert (await session.get_one(Thread, ctx.thread_id)).title is None


async def test_set_thread_title_of_a_deleted_thread(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    gone = ToolContext(
        session_factory=session_factory, thread_id=uuid.uuid4(), owner_id=LOCAL_PRINCIPAL_ID
    )
    outcome = await run("set_thread_title", {"title": "Hello"}, gone)
    assert outcome.error == f"thread {gone.thread_id} no longer exists"


# --- search_threads ------------------------------------------------------------------


async def test_search_threads_finds_messages_of_every_thread(
    ctx: ToolContext, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    word = "quokka" + secrets.token_hex(4)
    other = await insert_thread(session_factory, title="Animals")
    other_ids = await add_messages(
        session_factory,
        other,
        {"role": "user", "content": f"Tell me about the {word} on Rottnest island."},
        {"role": "assistant", "content": f"The {word} is a small marsupial. It smiles a lot."},
        {"role": "tool", "content": f'{{"results": "{word}"}}', "tool_call_id": "call_1"},
    )
    own_ids = await add_messages(
        session_factory, ctx.thread_id, {"role": "user", "content": f"Is a {word} a pet?"}
    )

    outcome = await run("search_threads", {"query": word}, ctx)
    assert outcome.error is None
    results = outcome.output["results"]
    # Both threads, the caller's included; never the tool row.
    assert {r["message_id"] for r in results} == {str(i) for i in [*other_ids[:2], *own_ids]}
    by_id = {r["message_id"]: r for r in results}
    first = by_id[str(other_ids[0])]
    assert first["thread_id"] == str(other)
    assert first["title"] == "Animals"
    assert first["role"] == "user"
    assert f"**{word}**" in first["snippet"]
    assert by_id[str(own_ids[0])]["title"] is None

    limited = await run("search_threads", {"query": f"{word} marsupial", "limit": 1}, ctx)
    assert [r["message_id"] for r in limited.output["results"]] == [str(other_ids[1])]
    # websearch_to_tsquery syntax: "a phrase", -excluded.
    phrase = await run("search_threads", {"query": f'{word} "small marsupial"'}, ctx)
    assert [r["message_id"] for r in phrase.output["results"]] == [str(other_ids[1])]
    excluded = await run("search_threads", {"query": f"{word} -marsupial -island"}, ctx)
    assert [r["message_id"] for r in excluded.output["results"]] == [str(own_ids[0])]
    # The question being answered, and replies still being written, are left out.
    await add_messages(
        session_factory,
        ctx.thread_id,
        {"role": "assistant", "content": word, "status": "in_progress"},
    )
    asking = ToolContext(
        session_factory=session_factory,
        thread_id=ctx.thread_id,
        owner_id=ctx.owner_id,
        request_message_id=own_ids[0],
    )
    without = await run("search_threads", {"query": word}, asking)
    assert {r["message_id"] for r in without.output["results"]} == {str(i) for i in other_ids[:2]}
    none = await run("search_threads", {"query": "the and of"}, ctx)
    assert none.output == {"results": []}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"query": ""}, "length >= 1 - at `$.query`"),
        ({"query": "x", "limit": 0}, "Expected `int` >= 1 - at `$.limit`"),
        ({"query": "x", "limit": 21}, "Expected `int` <= 20 - at `$.limit`"),
        ({"query": "x", "limit": "5"}, "Expected `int`, got `str` - at `$.limit`"),
        ({"limit": 5}, "Object missing required field `query`"),
    ],
)
async def test_search_threads_bad_arguments(
    ctx: ToolContext, arguments: dict[str, Any], expected: str
) -> None:
    outcome = await run("search_threads", arguments, ctx)
    assert outcome.error is not None
    assert expected in outcome.error


async def test_search_uses_the_gin_index(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with session_factory() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        await session.execute(text("SET LOCAL enable_indexscan = off"))
        plan = await session.execute(
            text(
                "EXPLAIN SELECT id FROM message "
                "WHERE to_tsvector('english', content) @@ websearch_to_tsquery('english', 'x')"
            )
        )
        assert "ix_message_content_fts" in "\n".join(row[0] for row in plan)


# --- model_stats ---------------------------------------------------------------------


def reply(model: str, **columns: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": "answer", "model": model, **columns}


async def test_model_stats(
    ctx: ToolContext, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    fast, slow = "fast-" + secrets.token_hex(3), "slow-" + secrets.token_hex(3)
    await add_messages(
        session_factory,
        ctx.thread_id,
        {"role": "user", "content": "hi"},
        reply(fast, prompt_tokens=10, completion_tokens=20, finish_reason="stop",
              time_to_first_token_ms=100, duration_ms=1000),
        reply(fast, prompt_tokens=10, completion_tokens=40, finish_reason="length",
              time_to_first_token_ms=300, duration_ms=1000),
        reply(slow, prompt_tokens=5, completion_tokens=10, finish_reason="stop",
              time_to_first_token_ms=900, duration_ms=5000),
        reply(slow, status="cancelled", completion_tokens=1),
        reply(slow, status="in_progress"),
    )  # fmt: skip
    outcome = await run("model_stats", {}, ctx)
    assert outcome.error is None
    assert outcome.output["scope"] == "thread"
    models = {m["model"]: m for m in outcome.output["models"]}
    assert list(models) == [fast, slow] or list(models) == [slow, fast]
    assert models[fast] == {
        "model": fast,
        "replies": 2,
        "finish_reasons": {"stop": 1, "length": 1},
        "prompt_tokens": 20,
        "completion_tokens": 60,
        "avg_completion_tokens": 30.0,
        "ttft_ms_p50": 200.0,
        "ttft_ms_p95": 290.0,
        "duration_ms_p50": 1000.0,
        "tokens_per_second": 30.0,
    }
    # The in-progress reply is left out; the cancelled one counts by its status.
    assert models[slow]["replies"] == 2
    assert models[slow]["finish_reasons"] == {"stop": 1, "cancelled": 1}
    assert models[slow]["tokens_per_second"] == 2.0

    everywhere = await run("model_stats", {"scope": "all", "since_hours": 1}, ctx)
    assert {fast, slow} <= {m["model"] for m in everywhere.output["models"]}
    other = ToolContext(
        session_factory=session_factory, thread_id=uuid.uuid4(), owner_id=LOCAL_PRINCIPAL_ID
    )
    assert (await run("model_stats", {}, other)).output["models"] == []


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"scope": "everything"}, "Invalid enum value 'everything' - at `$.scope`"),
        ({"since_hours": 0}, "Expected `int` >= 1 - at `$.since_hours`"),
        ({"since_hours": 1.5}, "Expected `int | null`, got `float` - at `$.since_hours`"),
    ],
)
async def test_model_stats_bad_arguments(
    ctx: ToolContext, arguments: dict[str, Any], expected: str
) -> None:
    outcome = await run("model_stats", arguments, ctx)
    assert outcome.error is not None
    assert expected in outcome.error


# --- client-defined functions --------------------------------------------------------


def test_client_function_is_decoded_strictly() -> None:
    good = {"name": "get_weather", "parameters": {"type": "object"}}
    assert msgspec.convert(good, ClientFunction).description == ""
    with pytest.raises(msgspec.ValidationError, match=r"\$.name"):
        msgspec.convert({**good, "name": "has space"}, ClientFunction)
    with pytest.raises(msgspec.ValidationError, match="unknown field `strict`"):
        msgspec.convert({**good, "strict": True}, ClientFunction)


def test_client_function_valid_schema_passes() -> None:
    check_client_function(WEATHER, field="tools[1]")
    assert client_spec(WEATHER).function.parameters is WEATHER.parameters


@pytest.mark.parametrize(
    ("parameters", "message", "field"),
    [
        (
            {"type": "object", "properties": {"city": {"type": "strng"}}},
            "is not a valid JSON Schema",
            "tools[2].parameters.properties.city.type",
        ),
        (
            {"type": "object", "required": "city"},
            "is not a valid JSON Schema",
            "tools[2].parameters.required",
        ),
        ({"type": "array"}, 'must be "object"', "tools[2].parameters.type"),
        ({"properties": {}}, 'must be "object"', "tools[2].parameters.type"),
        (
            {"type": "object", "properties": {"a": {"$ref": "https://example.com/s.json"}}},
            "only local references",
            "tools[2].parameters.properties.a.$ref",
        ),
    ],
)
def test_client_function_invalid_schema_is_rejected(
    parameters: dict[str, Any], message: str, field: str
) -> None:
    with pytest.raises(BadRequestError) as caught:
        check_client_function(ClientFunction(name="f", parameters=parameters), field="tools[2]")
    assert message in caught.value.detail
    assert caught.value.extra == {"field": field}
    assert field in caught.value.detail


def test_client_function_may_not_shadow_a_builtin() -> None:
    with pytest.raises(BadRequestError) as caught:
        check_client_function(
            ClientFunction(name="calculator", parameters={"type": "object"}), field="tools[0]"
        )
    assert caught.value.extra == {"field": "tools[0].name"}
    check_client_function(
        ClientFunction(name="calculator", parameters={"type": "object"}),
        field="tools[0]",
        reserved=(),
    )


def test_client_arguments_good() -> None:
    outcome = validate_client_arguments(
        WEATHER, '{"city": "Paris", "days": 3, "stops": [{"name": "Lyon"}]}'
    )
    assert outcome == ToolOutcome(
        arguments={"city": "Paris", "days": 3, "stops": [{"name": "Lyon"}]}
    )


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"city": "Paris"', "arguments are not valid JSON"),
        ("{}", "'city' is a required property - at `$`"),
        ('{"city": 3}', "3 is not of type 'string' - at `$.city`"),
        ('{"city": "P", "days": 9}', "9 is greater than the maximum of 7 - at `$.days`"),
        ('{"city": "P", "units": "kelvin"}', "'kelvin' is not one of ['metric', 'imperial']"),
        ('{"city": "P", "wind": true}', "('wind' was unexpected) - at `$`"),
        ('{"city": "P", "stops": [{"name": "a"}, {}]}', "- at `$.stops[1]`"),
        ("[]", "[] is not of type 'object' - at `$`"),
    ],
)
def test_client_arguments_bad(arguments: str, expected: str) -> None:
    outcome = validate_client_arguments(WEATHER, arguments)
    assert outcome.arguments is None
    assert outcome.error is not None
    assert outcome.error.startswith("invalid arguments for get_weather: ")
    assert expected in outcome.error


def test_client_arguments_with_a_dangling_local_ref() -> None:
    fn = ClientFunction(
        name="f", parameters={"type": "object", "properties": {"a": {"$ref": "#/$defs/gone"}}}
    )
    check_client_function(fn, field="tools[0]")
    outcome = validate_client_arguments(fn, '{"a": 1}')
    assert outcome.error is not None
    assert "the declared schema cannot be used" in outcome.error


# --- the system prompt ---------------------------------------------------------------


def test_prompt_default_lists_only_enabled_tools_and_asks_for_a_title() -> None:
    prompt = build_system_prompt(
        thread_prompt=None,
        use_default=True,
        enabled_tools=["calculator", "set_thread_title"],
        has_title=False,
    )
    assert prompt is not None
    assert "- `calculator`: Evaluate an arithmetic expression" in prompt
    assert "- `set_thread_title`:" in prompt
    assert "`current_time`" not in prompt
    assert "search_threads" not in prompt
    assert "call `set_thread_title` once" in prompt
    assert "Thread instructions" not in prompt
    assert "{tools}" not in prompt
    assert "{title}" not in prompt


def test_prompt_no_title_request_when_titled_or_tool_disabled() -> None:
    titled = build_system_prompt(
        thread_prompt=None, use_default=True, enabled_tools=DEFAULT_TOOL_NAMES, has_title=True
    )
    untitled_without_tool = build_system_prompt(
        thread_prompt=None, use_default=True, enabled_tools=["calculator"], has_title=False
    )
    for prompt in (titled, untitled_without_tool):
        assert prompt is not None
        assert "no title yet" not in prompt


def test_prompt_combines_default_and_thread_prompt() -> None:
    prompt = build_system_prompt(
        thread_prompt="Answer in French.",
        use_default=True,
        enabled_tools=["current_time", "get_weather"],
        has_title=True,
        descriptions={"get_weather": "Weather for a city.\nMore detail."},
    )
    assert prompt is not None
    default, own = prompt.split(SEPARATOR)
    assert own == THREAD_INSTRUCTIONS + "Answer in French."
    assert "- `get_weather`: Weather for a city." in default
    assert "More detail" not in default
    assert default.startswith("You are the assistant of an LLM playground")


def test_prompt_without_tools_leaves_out_the_tools_section() -> None:
    prompt = build_system_prompt(
        thread_prompt="  ", use_default=True, enabled_tools=[], has_title=False
    )
    assert prompt is not None
    assert "## Tools" not in prompt
    assert "error:" not in prompt
    assert SEPARATOR not in prompt


def test_prompt_default_off_is_the_thread_prompt_alone() -> None:
    assert (
        build_system_prompt(
            thread_prompt="Be terse.",
            use_default=False,
            enabled_tools=DEFAULT_TOOL_NAMES,
            has_title=False,
        )
        == "Be terse."
    )
    for empty in (None, "", "  \n"):
        assert (
            build_system_prompt(
                thread_prompt=empty, use_default=False, enabled_tools=[], has_title=False
            )
            is None
        )
