// The active branch as a list of message cards. A card is rebuilt only when what it
// shows changed (compared through a key), so streaming a reply re-renders one card per
// frame and an open edit box elsewhere keeps its text and caret.
import { button, el } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

const STATUS_LABELS = {
  in_progress: "generating…",
  cancelled: "cancelled",
  failed: "failed",
  interrupted: "interrupted",
  requires_action: "waiting for tool outputs",
};

export class Conversation {
  /** `actions`: {edit, branch, regenerate, fork, switchTo}, each (message, …) => void. */
  constructor(list, actions) {
    this.list = list;
    this.actions = actions;
    this.cards = new Map(); // message id -> {key, element}
    this.editing = null; // {id, draft}
  }

  render(messages, busy) {
    const results = new Map(
      messages.filter((m) => m.role === "tool").map((m) => [m.tool_call_id, m]),
    );
    const shownInCalls = new Set();
    for (const message of messages) {
      for (const call of message.tool_calls || []) {
        if (results.has(call.id)) shownInCalls.add(results.get(call.id).id);
      }
    }
    const elements = [];
    const seen = new Set();
    for (const message of messages) {
      if (shownInCalls.has(message.id)) continue;
      const calls = (message.tool_calls || []).map((call) => ({ call, result: results.get(call.id) }));
      const editing = this.editing?.id === message.id;
      const key = JSON.stringify([message, calls, busy, editing]);
      let card = this.cards.get(message.id);
      if (!card || card.key !== key) {
        card = { key, element: this.card(message, calls, busy, editing) };
        this.cards.set(message.id, card);
      }
      seen.add(message.id);
      elements.push(card.element);
    }
    for (const id of this.cards.keys()) if (!seen.has(id)) this.cards.delete(id);
    this.list.replaceChildren(...elements);
  }

  card(message, calls, busy, editing) {
    const item = el("li", `message ${message.role}`);
    item.dataset.messageId = message.id;
    item.dataset.role = message.role;
    item.dataset.status = message.status;
    const head = el("div", "message-head");
    head.append(el("span", "role", message.role === "tool" ? "tool result" : message.role));
    if (message.sibling_ids?.length > 1) head.append(this.switcher(message, busy));
    if (!editing && message.role !== "tool") head.append(this.buttons(message, busy));
    item.append(head);

    if (editing) {
      item.append(this.editor(message));
    } else if (message.role === "tool") {
      item.append(toolOutput(message));
    } else if (message.content || message.role !== "assistant" || !calls.length) {
      const body = el("div", "content");
      renderMarkdown(body, message.content);
      // The cursor goes inside the last paragraph, not on a line of its own below it.
      if (message.status === "in_progress") (body.lastElementChild || body).append(el("span", "cursor", "▍"));
      item.append(body);
    }
    if (calls.length) item.append(toolCalls(calls));
    if (message.role === "assistant") item.append(meta(message));
    return item;
  }

  switcher(message, busy) {
    const siblings = message.sibling_ids;
    const index = siblings.indexOf(message.id);
    const box = el("span", "siblings");
    const previous = button("‹", "sibling-prev", () => this.actions.switchTo(message, siblings[index - 1]));
    const next = button("›", "sibling-next", () => this.actions.switchTo(message, siblings[index + 1]));
    previous.disabled = busy || index <= 0;
    next.disabled = busy || index >= siblings.length - 1;
    previous.setAttribute("aria-label", "Previous version");
    next.setAttribute("aria-label", "Next version");
    box.append(previous, el("span", "sibling-count", `${index + 1}/${siblings.length}`), next);
    return box;
  }

  buttons(message, busy) {
    const bar = el("div", "message-actions");
    // A turn that only called tools is an intermediate step: fork from it, nothing more.
    const toolTurn = Boolean(message.tool_calls?.length) && !message.content;
    if (message.role === "assistant" && !toolTurn) {
      bar.append(button("Regenerate", "regenerate", () => this.actions.regenerate(message)));
    }
    if (!toolTurn) bar.append(button("Edit", "edit", () => this.startEditing(message)));
    bar.append(button("Fork", "fork", () => this.actions.fork(message)));
    for (const control of bar.children) control.disabled = busy || message.status === "in_progress";
    return bar;
  }

  editor(message) {
    const form = el("form", "editor");
    const area = el("textarea");
    area.value = this.editing.draft;
    area.rows = Math.min(12, Math.max(3, area.value.split("\n").length + 1));
    area.setAttribute("aria-label", "Edit message");
    area.addEventListener("input", () => (this.editing.draft = area.value));
    const save = button("Save", "save-edit", () => this.finishEditing("edit", message));
    const branch = button("Save as new branch", "save-branch", () => this.finishEditing("branch", message));
    const cancel = button("Cancel", "cancel-edit", () => this.stopEditing());
    const bar = el("div", "message-actions");
    bar.append(save, branch, cancel);
    form.append(area, bar);
    form.addEventListener("submit", (event) => event.preventDefault());
    queueMicrotask(() => area.focus());
    return form;
  }

  startEditing(message) {
    this.editing = { id: message.id, draft: message.content };
    this.actions.rerender();
  }

  stopEditing() {
    this.editing = null;
    this.actions.rerender();
  }

  finishEditing(kind, message) {
    const text = this.editing.draft;
    this.stopEditing();
    this.actions[kind](message, text);
  }
}

function toolCalls(calls) {
  const box = el("div", "tool-calls");
  for (const { call, result } of calls) {
    const item = el("div", "tool-call");
    item.dataset.callId = call.id;
    item.append(el("div", "tool-name", `→ ${call.function.name}`));
    item.append(el("pre", "tool-args", prettyJson(call.function.arguments)));
    if (result) item.append(toolOutput(result));
    else item.append(el("div", "tool-pending muted", "running…"));
    box.append(item);
  }
  return box;
}

function toolOutput(message) {
  if (message.error) return el("pre", "tool-error", message.error);
  return el("pre", "tool-result", prettyJson(message.content));
}

function meta(message) {
  const parts = [];
  if (STATUS_LABELS[message.status]) parts.push(el("span", `status status-${message.status}`, STATUS_LABELS[message.status]));
  if (message.model) parts.push(el("span", "", message.model));
  const usage = message.usage;
  if (usage?.total_tokens != null) {
    parts.push(el("span", "usage", `${usage.total_tokens} tokens (${usage.prompt_tokens} in, ${usage.completion_tokens} out)`));
  }
  const timings = message.timings;
  if (timings?.time_to_first_token_ms != null) parts.push(el("span", "ttft", `first token ${formatMs(timings.time_to_first_token_ms)}`));
  if (timings?.duration_ms != null) parts.push(el("span", "duration", `total ${formatMs(timings.duration_ms)}`));
  if (message.finish_reason && message.finish_reason !== "stop") parts.push(el("span", "", `finish: ${message.finish_reason}`));
  const line = el("div", "meta");
  line.append(...parts);
  if (message.error) line.append(el("div", "message-error", message.error));
  return line;
}

function formatMs(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Short JSON on one line (most tool arguments), longer JSON indented. */
function prettyJson(text) {
  try {
    const value = typeof text === "string" ? JSON.parse(text) : text;
    const compact = JSON.stringify(value);
    return compact.length <= 80 ? compact : JSON.stringify(value, null, 2);
  } catch {
    return String(text);
  }
}
