"""The system prompt sent to the model: the default one, the thread's own, or both.

The default prompt lives in ``default_system_prompt.md`` beside this module (one file,
plain markdown). Combination rule:

- a thread using the default prompt (the default) gets the default prompt, listing only
  the tools the thread enables with a one-line description each (its ``## Tools``
  section is left out when the thread enables none), and, while the thread
  has no title and ``set_thread_title`` is enabled, an instruction to name the thread
  after the first exchange; then, if the thread has a system prompt of its own, a line
  ``---`` and ``Thread instructions:`` followed by that prompt. The thread's prompt is
  added, never silently replacing the default;
- a thread that turns the default off gets exactly its own system prompt (or none).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from api.tools.builtins import BUILTIN_TOOLS

DEFAULT_PROMPT_PATH = Path(__file__).with_name("default_system_prompt.md")
SEPARATOR = "\n\n---\n\n"
THREAD_INSTRUCTIONS = "Thread instructions:\n"
TOOLS_HEADING = "\n## Tools"
TITLE_INSTRUCTION = (
    "\nThis thread has no title yet. After your first answer in it, call "
    "`set_thread_title` once with a short, specific title (a few words) for the "
    "conversation."
)

_BUILTIN_DESCRIPTIONS = {tool.name: tool.description for tool in BUILTIN_TOOLS}


@functools.cache
def default_prompt_template() -> str:
    """The default prompt file's text, with its ``{tools}`` and ``{title}`` slots."""
    return DEFAULT_PROMPT_PATH.read_text(encoding="utf-8")


def build_system_prompt(
    *,
    thread_prompt: str | None,
    use_default: bool,
    enabled_tools: list[str],
    has_title: bool,
    descriptions: Mapping[str, str] | None = None,
) -> str | None:
    """The system prompt for a generation, by the rule in the module docstring.

    ``enabled_tools`` names the tools offered to the model, built-in or client-defined;
    ``descriptions`` gives one for names that are not built in (client functions).
    Returns None when there is no system prompt at all.
    """
    own = thread_prompt if thread_prompt and thread_prompt.strip() else None
    if not use_default:
        return own
    prompt = _default_prompt(enabled_tools, has_title, descriptions or {})
    if own is not None:
        prompt += SEPARATOR + THREAD_INSTRUCTIONS + own
    return prompt


def _default_prompt(
    enabled_tools: list[str], has_title: bool, descriptions: Mapping[str, str]
) -> str:
    lines = [
        f"- `{name}`: {_first_line(descriptions.get(name) or _BUILTIN_DESCRIPTIONS.get(name))}"
        for name in enabled_tools
    ]
    template = default_prompt_template()
    if not lines:
        return template.split(TOOLS_HEADING, 1)[0].rstrip()
    naming = not has_title and "set_thread_title" in enabled_tools
    # str.replace rather than str.format: the markdown may contain braces of its own.
    text = template.replace("{tools}", "\n".join(lines)).replace(
        "{title}", TITLE_INSTRUCTION if naming else ""
    )
    return text.rstrip()


def _first_line(description: str | None) -> str:
    if not description:
        return "(no description)"
    return description.strip().splitlines()[0]
