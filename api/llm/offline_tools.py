"""When the offline model calls tools, with which arguments, and what it says afterwards.

Deterministic rules on the last user message, applied only to tools the request offers
(its ``tools`` list) and never with ``tool_choice: "none"``:

- ``current_time``: "what time", "time in", "time is it" or "current time"; the
  timezone is the first IANA-looking name in the text (``Europe/Paris``), else the zone
  of a place the text names ("Tokyo" → ``Asia/Tokyo``), else ``UTC``;
- ``calculator``: an arithmetic expression in the text (``12*(3+4)``, ``2**10``), or
  "sum of A and B";
- ``set_thread_title``: "title" or "name this thread"; the title is the text after a
  colon, else the text without the trigger words;
- ``search_threads``: "search for X", "search X", "remember X" or "recall X" (X up to
  the end of the sentence);
- ``model_stats``: "stats", "statistics" or "which model" (scope ``all`` when the text
  says "all threads" or "all conversations");
- a client-defined function (any offered tool not listed above) whose name the text
  mentions: its required properties get an enum's first value, for strings the value the
  text names (quoted, else capitalised, as in "get_weather for Paris please"), 1 for
  numbers, true, [] or {} (the rules for arguments are in ``api.llm.offline_arguments``);
- several triggers give several calls in one turn, in the order above;
- ``[[bad-args]]``: the first call's arguments are invalid (a wrong type, an unknown
  field, an empty string, an out-of-range number, a bad enum value, or malformed JSON
  for a client function). When the tool results come back with one starting with
  ``error:``, the model calls again with the correct arguments (unless they are what it
  sent already: then it reports the error);
- after successful results it answers in text from them ("It is 14:03 in
  Europe/Paris (Tuesday).", "12*(3+4) = 84."), one sentence per tool in the order first
  called; so it does, whatever the results, when the request ending with tool results
  offers no tools or says ``tool_choice: "none"``;
- after ``MAX_TOOL_TURNS`` tool turns since the user message it answers in text, never
  calling again; ``[[tool-loop]]`` makes it call the same tools again after every result,
  up to ``LOOP_TOOL_TURNS`` turns, so a server's own round limit can be tested.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec

from api.llm import wire
from api.llm.offline_arguments import client_arguments, timezone

BAD_ARGS = "[[bad-args]]"
TOOL_LOOP = "[[tool-loop]]"
MAX_TOOL_TURNS = 5
LOOP_TOOL_TURNS = 50
ERROR_PREFIX = "error:"

CURRENT_TIME = "current_time"
CALCULATOR = "calculator"
SET_THREAD_TITLE = "set_thread_title"
SEARCH_THREADS = "search_threads"
MODEL_STATS = "model_stats"
KNOWN_TOOLS = (CURRENT_TIME, CALCULATOR, SET_THREAD_TITLE, SEARCH_THREADS, MODEL_STATS)

_DIRECTIVE = re.compile(r"\[\[[^\]]*\]\]")
_TIME = re.compile(r"\b(?:what time|time in|time is it|current time)\b", re.IGNORECASE)
_ARITHMETIC_RUN = re.compile(r"[\d\s+\-*/%().]+")
_HAS_OPERATION = re.compile(r"[\d.)]\s*(?:\*\*|//|[-+*/%])\s*[(\s]*[-+]?\s*[\d.(]")
_SUM_OF = re.compile(r"\bsum of (-?\d+(?:\.\d+)?) and (-?\d+(?:\.\d+)?)", re.IGNORECASE)
_TITLE = re.compile(r"\btitle\b|\bname (?:this|the) (?:thread|chat|conversation)\b", re.IGNORECASE)
_TITLE_WORDS = re.compile(
    r"\b(?:please|set|give|change|the|this|thread|chat|conversation|a|title|name|call|it|"
    r"to|as|for|of|can|you)\b",
    re.IGNORECASE,
)
_SEARCH = re.compile(r"\b(?:search(?: for)?|remember|recall)\s+([^.?!\n]+)", re.IGNORECASE)
_STATS = re.compile(r"\b(?:stats|statistics|which model)\b", re.IGNORECASE)
_ALL_THREADS = re.compile(r"\ball (?:threads|conversations|chats)\b", re.IGNORECASE)


class PlannedCall(msgspec.Struct, frozen=True):
    """A call the model decided to make: the tool's name and its arguments as JSON text."""

    name: str
    arguments_json: str


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """What the model does this turn: call tools, or answer with ``text``."""

    calls: list[PlannedCall] = []
    text: str | None = None


class _Result(msgspec.Struct, frozen=True):
    call_id: str
    name: str
    arguments_json: str
    content: str

    @property
    def failed(self) -> bool:
        return self.content.lstrip().startswith(ERROR_PREFIX)


def plan_tools(
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None,
    tool_choice: object = None,
) -> Plan | None:
    """The model's tool behaviour for this request; None when it just chats as usual.

    Tool results at the end of the conversation always get a text answer from them when
    the model may not call again (no ``tools`` offered, or ``tool_choice: "none"``), as
    a server asking for a final answer after its round limit would.
    """
    user_at = _last_user_index(messages)
    if user_at is None:
        return None
    offered = {} if tool_choice == "none" else _offered(tools)
    said = wire.content_text(messages[user_at].get("content"))
    clean = " ".join(_DIRECTIVE.sub(" ", said).split())
    after = messages[user_at + 1 :]
    if not after:
        calls = _triggered(clean, offered)
        if not calls:
            return None
        if BAD_ARGS in said:
            calls[0] = PlannedCall(calls[0].name, _malformed(calls[0], offered))
        return Plan(calls=calls)
    if after[-1].get("role") != "tool":
        return None
    results, turns, last_turn = _results(after)
    looping = TOOL_LOOP in said
    if offered and turns >= (LOOP_TOOL_TURNS if looping else MAX_TOOL_TURNS):
        return Plan(text=f"I stopped calling tools after {turns} rounds. " + _summary(results))
    good = {call.name: call.arguments_json for call in _triggered(clean, offered)}
    if looping and good:
        return Plan(calls=[PlannedCall(n, a) for n, a in good.items()])
    retry = [
        PlannedCall(r.name, good[r.name])
        for r in results
        if r.call_id in last_turn
        and r.failed
        and good.get(r.name, r.arguments_json) != r.arguments_json
    ]
    if retry:
        return Plan(calls=retry)
    return Plan(text=_summary(results))


def _offered(tools: Sequence[Mapping[str, Any]] | None) -> dict[str, Mapping[str, Any]]:
    """Offered function name → its ``function`` object, in the request's order."""
    found: dict[str, Mapping[str, Any]] = {}
    for tool in tools or []:
        function = tool.get("function")
        if tool.get("type") == "function" and isinstance(function, Mapping):
            name = function.get("name")
            if isinstance(name, str):
                found[name] = function
    return found


def _last_user_index(messages: Sequence[Mapping[str, Any]]) -> int | None:
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "user":
            return index
    return None


def _json(value: object) -> str:
    return msgspec.json.encode(value).decode()


def _triggered(text: str, offered: Mapping[str, Mapping[str, Any]]) -> list[PlannedCall]:
    """The calls the text asks for, with correct arguments, in the documented order."""
    arguments: dict[str, dict[str, Any] | None] = {
        CURRENT_TIME: _time_arguments(text),
        CALCULATOR: _calculator_arguments(text),
        SET_THREAD_TITLE: {"title": _title(text)} if _TITLE.search(text) else None,
        SEARCH_THREADS: _search_arguments(text),
        MODEL_STATS: (
            {"scope": "all" if _ALL_THREADS.search(text) else "thread"}
            if _STATS.search(text)
            else None
        ),
    }
    calls = [
        PlannedCall(name, _json(args))
        for name, args in arguments.items()
        if args is not None and name in offered
    ]
    for name, function in offered.items():
        if name not in KNOWN_TOOLS and re.search(
            rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE
        ):
            args = client_arguments(name, function, text, tool_names=offered)
            calls.append(PlannedCall(name, _json(args)))
    return calls


def _time_arguments(text: str) -> dict[str, Any] | None:
    if not _TIME.search(text):
        return None
    return {"timezone": timezone(text)}


def _calculator_arguments(text: str) -> dict[str, Any] | None:
    total = _SUM_OF.search(text)
    if total:
        return {"expression": f"{total.group(1)}+{total.group(2)}"}
    for run in _ARITHMETIC_RUN.findall(text):
        expression = _balanced(run.strip().rstrip("."))
        if _HAS_OPERATION.search(expression):
            return {"expression": expression}
    return None


def _balanced(expression: str) -> str:
    """Drop unmatched parentheses at the ends, as left by text like "(what is 2+3)"."""
    while expression.endswith(")") and expression.count(")") > expression.count("("):
        expression = expression[:-1].rstrip()
    while expression.startswith("(") and expression.count("(") > expression.count(")"):
        expression = expression[1:].lstrip()
    return expression


def _title(text: str) -> str:
    candidate = text.split(":", 1)[1] if ":" in text else _TITLE_WORDS.sub(" ", text)
    words = candidate.strip(" \"'“”.?!").split()[:8]
    title = " ".join(words).strip(" \"'“”.,;?!")[:80] or "Offline chat"
    return title[0].upper() + title[1:]


def _search_arguments(text: str) -> dict[str, Any] | None:
    found = _SEARCH.search(text)
    if not found:
        return None
    query = found.group(1).strip(" \"'“”,;:")[:200].strip()
    return {"query": query} if query else None


def _malformed(call: PlannedCall, offered: Mapping[str, Mapping[str, Any]]) -> str:
    """Wrong arguments for ``call``, each tool showing a different kind of mistake."""
    good = msgspec.json.decode(call.arguments_json)
    bad: dict[str, Any] | None = {
        CURRENT_TIME: {"timezone": 42},  # wrong type
        CALCULATOR: {"expr": good.get("expression")},  # unknown field (and a missing one)
        SET_THREAD_TITLE: {"title": ""},  # too short
        SEARCH_THREADS: {**good, "limit": 0},  # out of range
        MODEL_STATS: {"scope": "everything"},  # not one of the allowed values
    }.get(call.name)
    if bad is None:
        return call.arguments_json[:-1]  # malformed JSON: the closing brace is missing
    return _json(bad)


def _results(after: Sequence[Mapping[str, Any]]) -> tuple[list[_Result], int, set[str]]:
    """The tool results since the user message, the number of tool turns, the last turn's ids."""
    calls: dict[str, tuple[str, str]] = {}
    results: list[_Result] = []
    turns = 0
    last_turn: set[str] = set()
    for message in after:
        if message.get("role") == "assistant" and message.get("tool_calls"):
            turns += 1
            last_turn = set()
            for call in message["tool_calls"]:
                function = call.get("function") or {}
                calls[str(call.get("id"))] = (
                    str(function.get("name")),
                    str(function.get("arguments", "")),
                )
                last_turn.add(str(call.get("id")))
        elif message.get("role") == "tool":
            call_id = str(message.get("tool_call_id"))
            name, arguments = calls.get(call_id, ("unknown", ""))
            content = wire.content_text(message.get("content"))
            results.append(_Result(call_id, name, arguments, content))
    return results, turns, last_turn


def _summary(results: Sequence[_Result]) -> str:
    """One sentence per tool called, in the order first called, from its latest result."""
    latest: dict[str, _Result] = {}
    for result in results:
        latest[result.name] = result
    return " ".join(_sentence(r) for r in latest.values()) or "I have no tool results."


def _sentence(result: _Result) -> str:
    if result.failed:
        reason = result.content.lstrip()[len(ERROR_PREFIX) :].strip()
        return f"`{result.name}` failed: {reason}."
    try:
        output = msgspec.json.decode(result.content)
    except msgspec.DecodeError:
        output = result.content
    if isinstance(output, dict):
        try:
            return _SENTENCES[result.name](output)
        except (KeyError, TypeError, ValueError):
            pass
    return f"`{result.name}` returned {result.content}."


def _time_sentence(output: dict[str, Any]) -> str:
    at = datetime.fromisoformat(output["iso"])
    return f"It is {at:%H:%M} in {output['timezone']} ({output['weekday']})."


def _search_sentence(output: dict[str, Any]) -> str:
    found = output["results"]
    if not found:
        return "I found nothing about that in earlier conversations."
    quotes = "; ".join(
        f"“{hit['snippet']}” (in “{hit['title'] or 'an untitled thread'}”)" for hit in found[:3]
    )
    return f"I found {len(found)} earlier message{'s' if len(found) != 1 else ''}: {quotes}."


def _stats_sentence(output: dict[str, Any]) -> str:
    models = output["models"]
    if not models:
        return "There are no finished replies to compare yet."
    parts = [
        f"{m['model']}: {m['replies']} replies, median time to first token "
        f"{m['ttft_ms_p50']} ms, finish reasons {_json(m['finish_reasons'])}"
        for m in models
    ]
    return "Model stats: " + "; ".join(parts) + "."


_SENTENCES: dict[str, Callable[[dict[str, Any]], str]] = {
    CURRENT_TIME: _time_sentence,
    CALCULATOR: lambda o: f"{o['expression']} = {o['result']}.",
    SET_THREAD_TITLE: lambda o: f"I named this thread “{o['title']}”.",
    SEARCH_THREADS: _search_sentence,
    MODEL_STATS: _stats_sentence,
}
