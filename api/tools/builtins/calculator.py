"""``calculator``: arithmetic on an expression, parsed with ``ast`` and never ``eval``-ed.

Only numbers, ``+ - * / // % **``, unary ``+``/``-`` and parentheses are allowed. Every
intermediate value is kept within ``MAX_MAGNITUDE`` and exponents within
``MAX_EXPONENT``, and a power is refused *before* it is computed when its result would
be too large, so no expression can make the server compute a huge number.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Annotated

import msgspec

from api.tools.base import Tool, ToolContext, ToolError

MAX_EXPRESSION_CHARS = 200
MAX_EXPONENT = 100
MAX_MAGNITUDE = 1e100

Number = int | float

_BINARY: dict[type[ast.operator], tuple[str, Callable[[Number, Number], Number]]] = {
    ast.Add: ("+", operator.add),
    ast.Sub: ("-", operator.sub),
    ast.Mult: ("*", operator.mul),
    ast.Div: ("/", operator.truediv),
    ast.FloorDiv: ("//", operator.floordiv),
    ast.Mod: ("%", operator.mod),
    ast.Pow: ("**", operator.pow),
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
# What a rejected node is called in the error message.
_FORBIDDEN = {
    ast.Name: "names are",
    ast.Call: "function calls are",
    ast.Attribute: "attribute access is",
    ast.Subscript: "subscripts are",
    ast.Compare: "comparisons are",
    ast.BoolOp: "boolean operators are",
    ast.Lambda: "lambdas are",
}


class CalculatorArgs(msgspec.Struct, forbid_unknown_fields=True):
    """Arguments of ``calculator``."""

    expression: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=MAX_EXPRESSION_CHARS,
            description="An arithmetic expression, e.g. '12*(3+4)' or '2**10 / 3'.",
        ),
    ]


def evaluate(expression: str) -> Number:
    """Evaluate an arithmetic expression safely; raise ``ToolError`` saying what is wrong."""
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise ToolError(f"not a valid arithmetic expression: {exc.msg}") from None
    return _eval(tree.body)


def _eval(node: ast.expr) -> Number:
    if isinstance(node, ast.Constant):
        value = node.value
        # bool is an int subclass: True + True must not pass as arithmetic.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ToolError(f"only numbers are allowed, not {value!r}")
        return _bounded(value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ToolError(f"operator {_op_text(node.op)} is not allowed")
        symbol, apply = _BINARY[type(node.op)]
        left, right = _eval(node.left), _eval(node.right)
        if symbol == "**":
            _check_power(left, right)
        try:
            result = apply(left, right)
        except ZeroDivisionError:
            raise ToolError("division by zero") from None
        except OverflowError:
            raise ToolError(f"the result is larger than {MAX_MAGNITUDE:g}") from None
        return _bounded(result)
    what = _FORBIDDEN.get(type(node), f"{type(node).__name__} expressions are")
    raise ToolError(
        f"{what} not allowed: {ast.unparse(node)!r} (only numbers, + - * / // % ** and parentheses)"
    )


def _op_text(op: ast.operator) -> str:
    return {
        ast.BitAnd: "&",
        ast.BitOr: "|",
        ast.BitXor: "^",
        ast.LShift: "<<",
        ast.RShift: ">>",
        ast.MatMult: "@",
    }.get(type(op), type(op).__name__)


def _check_power(base: Number, exponent: Number) -> None:
    if abs(exponent) > MAX_EXPONENT:
        raise ToolError(f"exponent {exponent!r} is too large (at most {MAX_EXPONENT} in size)")
    if base == 0 and exponent < 0:
        raise ToolError("division by zero")
    if base < 0 and not float(exponent).is_integer():
        raise ToolError("a negative number to a fractional power is not a real number")
    # log10 of the result's size, estimated before computing it.
    if base != 0 and exponent * math.log10(abs(base)) > math.log10(MAX_MAGNITUDE):
        raise ToolError(f"the result is larger than {MAX_MAGNITUDE:g}")


def _bounded(value: Number) -> Number:
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise ToolError(f"the result is larger than {MAX_MAGNITUDE:g}")
    return value


async def calculator(args: CalculatorArgs, ctx: ToolContext) -> dict[str, object]:
    """Evaluate ``args.expression``; the output repeats it beside the result."""
    return {"expression": args.expression, "result": evaluate(args.expression)}


TOOL = Tool(
    name="calculator",
    description=(
        "Evaluate an arithmetic expression exactly: numbers, + - * / // % ** and "
        "parentheses. Use it instead of doing arithmetic in your head."
    ),
    arguments=CalculatorArgs,
    handler=calculator,
    timeout_s=2,
)
