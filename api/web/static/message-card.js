// One message of the active branch as a card: role, the ‹ n/m › switcher between its
// versions, its actions, its Markdown, the tool calls it made with their results, and
// a meta line. Cards carry no listeners: the conversation view handles their buttons by
// delegation, through `data-message-id` and the buttons' classes.
import { button, el } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

/** @typedef {import("./store.js").Message} Message */
/** @typedef {{call: {id: string, function: {name: string, arguments: string}}, result?: Message}} ToolCall */

const STATUS_LABELS = {
  in_progress: "generating…",
  cancelled: "cancelled",
  failed: "failed",
  interrupted: "interrupted",
  requires_action: "waiting for tool outputs",
};

// A completed reply that did not end on its own: the reader should know it is not whole.
const FINISH_LABELS = {
  length: "cut short: token limit reached",
  content_filter: "stopped by the content filter",
  max_tool_rounds: "stopped: tool round limit reached",
};

/**
 * @param {Message} message
 * @param {ToolCall[]} calls the tool calls the message made, each with its result once there
 * @param {boolean} busy a reply is streaming: nothing may change the branch meanwhile
 * @param {string|null} draft the edit box's text while the message is being edited
 */
export function messageCard(message, calls, busy, draft) {
  const editing = draft !== null;
  const item = el("li", `message ${message.role}`);
  item.dataset.messageId = message.id;
  item.dataset.role = message.role;
  item.dataset.status = message.status;
  const head = el("div", "message-head");
  head.append(el("span", "role", message.role === "tool" ? "tool result" : message.role));
  if (message.sibling_ids?.length > 1) head.append(switcher(message, busy));
  if (!editing && message.role !== "tool") head.append(actions(message, busy));
  item.append(head);

  if (editing) {
    item.append(editor(draft));
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

function switcher(message, busy) {
  const siblings = message.sibling_ids;
  const index = siblings.indexOf(message.id);
  const box = el("span", "siblings");
  box.append(
    siblingButton("‹", "sibling-prev", "Previous version", siblings[index - 1], busy),
    el("span", "sibling-count", `${index + 1}/${siblings.length}`),
    siblingButton("›", "sibling-next", "Next version", siblings[index + 1], busy),
  );
  return box;
}

function siblingButton(label, className, name, siblingId, busy) {
  const control = button(label, className);
  control.setAttribute("aria-label", name);
  control.disabled = busy || siblingId === undefined;
  if (siblingId !== undefined) control.dataset.siblingId = siblingId;
  return control;
}

function actions(message, busy) {
  const bar = el("div", "message-actions");
  // A turn that only called tools is an intermediate step: fork from it, nothing more.
  const toolTurn = Boolean(message.tool_calls?.length) && !message.content;
  if (message.role === "assistant" && !toolTurn) bar.append(button("Regenerate", "regenerate"));
  // Only a model's reply has a request behind it (request-view.js).
  if (message.role === "assistant" && message.model) {
    bar.append(button("Request", "show-request"));
    if (!toolTurn) bar.append(button("Replay with…", "replay-with"));
  }
  if (!toolTurn) bar.append(button("Edit", "edit"));
  bar.append(button("Fork", "fork"));
  for (const control of bar.children) control.disabled = busy || message.status === "in_progress";
  return bar;
}

function editor(draft) {
  const form = el("form", "editor");
  const area = el("textarea");
  area.value = draft;
  area.rows = Math.min(12, Math.max(3, draft.split("\n").length + 1));
  area.setAttribute("aria-label", "Edit message");
  const bar = el("div", "message-actions");
  bar.append(
    button("Save", "save-edit"),
    button("Save as new branch", "save-branch"),
    button("Cancel", "cancel-edit"),
  );
  form.append(area, bar);
  return form;
}

/** @param {ToolCall[]} calls */
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
  const finish = message.finish_reason;
  if (FINISH_LABELS[finish]) parts.push(el("span", "status status-cut-short", FINISH_LABELS[finish]));
  else if (finish && finish !== "stop" && finish !== "tool_calls") parts.push(el("span", "", `finish: ${finish}`));
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
