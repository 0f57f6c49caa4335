// Calls to the playground API, the one module that knows its paths. Every non-2xx answer
// becomes an ApiError carrying the server's `detail`, so callers can show it instead of
// a generic failure. When the server requires a key, every call sends the one this tab
// signed in with as `Authorization: Bearer …`, never in a URL.
import { readEvents } from "./sse.js";

// sessionStorage: the key survives a reload of this tab, not the tab itself.
const API_KEY = "playground.apiKey";

/** Send `key` with every call from now on, in this tab. */
export function useKey(key) {
  sessionStorage.setItem(API_KEY, key);
}

export function forgetKey() {
  sessionStorage.removeItem(API_KEY);
}

export function hasKey() {
  return sessionStorage.getItem(API_KEY) !== null;
}

export class ApiError extends Error {
  constructor(status, detail, extra) {
    super(`${status}: ${detail}${fieldProblems(extra)}`);
    this.status = status;
    this.detail = detail;
    this.extra = extra;
  }
}

// Body validation errors carry a generic detail; the field and the rule are in `extra`.
function fieldProblems(extra) {
  if (!Array.isArray(extra)) return "";
  const problems = extra.filter((item) => item?.message).map((item) => (item.key ? `${item.key}: ${item.message}` : item.message));
  return problems.length ? ` (${problems.join("; ")})` : "";
}

async function errorFrom(response) {
  let detail = response.statusText || "request failed";
  let extra;
  try {
    const body = await response.json();
    detail = body.detail ?? detail;
    extra = body.extra;
  } catch {
    // Not JSON (a proxy's error page, say): the status line is all we have.
  }
  return new ApiError(response.status, detail, extra);
}

function options(method, body, signal, version) {
  const init = { method, signal, headers: { accept: "application/json" } };
  // A conditional write: only if the row is still at the version this page last saw;
  // otherwise a 412 whose `extra.current` is the row as stored now.
  if (version !== undefined) init.headers["if-match"] = `"${version}"`;
  const key = sessionStorage.getItem(API_KEY);
  if (key) init.headers.authorization = `Bearer ${key}`;
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return init;
}

/** A JSON request (conditional with a `version`); resolves to the parsed body (null for 204). */
async function request(method, path, body, version) {
  const response = await fetch(path, options(method, body, undefined, version));
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  return response.json();
}

/**
 * @typedef {object} Listener
 * @property {(event: {event: string, id: string, data: any}) => void} onEvent called for each event, data already parsed
 * @property {AbortSignal} signal stops listening (the reply itself goes on)
 * @property {() => void} [onOpen] called once the server answered with the stream
 */

/**
 * A request answered with Server-Sent Events. Resolves when the stream ends (false when
 * the server answered 204: nothing to follow; the streaming calls below all do the
 * same). fetch is used rather than EventSource because sends and regenerations are POSTs,
 * and because it sends the key as a header.
 * @param {Listener} listener
 */
async function stream(method, path, body, { onEvent, onOpen, signal }) {
  const init = options(method, body, signal);
  init.headers.accept = "text/event-stream";
  const response = await fetch(path, init);
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return false;
  if (!(response.headers.get("content-type") || "").startsWith("text/event-stream")) {
    throw new ApiError(response.status, "expected an event stream");
  }
  onOpen?.();
  await readEvents(response.body, (frame) => {
    onEvent({ event: frame.event, id: frame.id, data: frame.data ? JSON.parse(frame.data) : {} });
  });
  return true;
}

function threadPath(threadId) {
  return `/api/threads/${encodeURIComponent(threadId)}`;
}

function messagesPath(threadId) {
  return `${threadPath(threadId)}/messages`;
}

/** Who the key belongs to, and whether the server requires one (`auth`); 401 without a good key. */
export function getMe() {
  return request("GET", "/api/me");
}

export function listModels() {
  return request("GET", "/api/models");
}

export function listTools() {
  return request("GET", "/api/tools");
}

/** A page of threads, newest activity first; `cursor` continues a previous page. */
export function listThreads(cursor) {
  const more = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
  return request("GET", `/api/threads?limit=100${more}`);
}

/**
 * The best 50 messages and thread titles matching `query` (web search syntax); each
 * snippet is a list of `{text, match}` parts.
 */
export function searchThreads(query) {
  return request("GET", `/api/search?q=${encodeURIComponent(query)}&limit=50`);
}

export function createThread() {
  return request("POST", "/api/threads", {});
}

export function getThread(threadId) {
  return request("GET", threadPath(threadId));
}

/** Change a thread's title or settings if it is still at `version`; resolves to the updated thread. */
export function updateThread(threadId, changes, version) {
  return request("PATCH", threadPath(threadId), changes, version);
}

export function deleteThread(threadId, version) {
  return request("DELETE", threadPath(threadId), undefined, version);
}

/** A new thread holding the branch up to `messageId`; resolves to that thread. */
export function forkThread(threadId, messageId) {
  return request("POST", `${threadPath(threadId)}/fork`, { message_id: messageId });
}

/** The thread's active branch, root first. */
export function listMessages(threadId) {
  return request("GET", messagesPath(threadId));
}

/** Make the branch through `messageId` the active one if the thread is still at `version`; resolves to the thread. */
export function setHead(threadId, messageId, version) {
  return request("PUT", `${threadPath(threadId)}/head`, { message_id: messageId }, version);
}

/** Replace a message's text if it is still at `version`; resolves to the message. */
export function editMessage(threadId, messageId, content, version) {
  const path = `${messagesPath(threadId)}/${encodeURIComponent(messageId)}`;
  return request("PATCH", path, { content }, version);
}

/** Store a message without asking for a reply: `body.generate` is false. */
export function addMessage(threadId, body) {
  return request("POST", messagesPath(threadId), body);
}

/** Send a message and stream the reply it starts. @param {Listener} listener */
export function sendMessage(threadId, body, listener) {
  return stream("POST", messagesPath(threadId), body, listener);
}

/** Stream a new sibling of an assistant message. @param {Listener} listener */
export function regenerate(threadId, messageId, listener) {
  const path = `${messagesPath(threadId)}/${encodeURIComponent(messageId)}/regenerate`;
  return stream("POST", path, {}, listener);
}

/** The request behind a reply as the model server got it: every model call of its run. */
export function getMessageRequest(threadId, messageId) {
  return request("GET", `${messagesPath(threadId)}/${encodeURIComponent(messageId)}/request`);
}

/**
 * Send a reply's stored request again (`body`: another `model`, `params`) and stream the
 * new sibling. @param {Listener} listener
 */
export function replayMessage(threadId, messageId, body, listener) {
  return stream("POST", `${messagesPath(threadId)}/${encodeURIComponent(messageId)}/replay`, body, listener);
}

/**
 * Follow the reply the thread is generating, if any. With `lastEventId`, only the
 * events after it: a reloaded page continues exactly where it was. @param {Listener} listener
 */
export function followReply(threadId, lastEventId, listener) {
  const query = lastEventId ? `?last_event_id=${encodeURIComponent(lastEventId)}` : "";
  return stream("GET", `${threadPath(threadId)}/stream${query}`, undefined, listener);
}

/** The thread's live feed after `lastEventId` (else from now). @param {Listener} listener */
export function followThreadEvents(threadId, lastEventId, listener) {
  const query = lastEventId ? `?last_event_id=${encodeURIComponent(lastEventId)}` : "";
  return stream("GET", `${threadPath(threadId)}/events${query}`, undefined, listener);
}

/** The thread list's live feed after `lastEventId` (else from now). @param {Listener} listener */
export function followEvents(lastEventId, listener) {
  const query = lastEventId ? `?last_event_id=${encodeURIComponent(lastEventId)}` : "";
  return stream("GET", `/api/events${query}`, undefined, listener);
}

/** Stop the running reply; its stream then ends with the message cancelled. */
export function cancelReply(threadId) {
  return request("POST", `${threadPath(threadId)}/cancel`);
}

// ---- the prompt library ----

function promptPath(promptId) {
  return `/api/prompts/${encodeURIComponent(promptId)}`;
}

/** Every item of a cursor-paged list at `path`, read 100 at a time: `{data}`. */
async function everyPage(path) {
  const data = [];
  let cursor = "";
  do {
    const more = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const page = await request("GET", `${path}?limit=100${more}`);
    data.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return { data };
}

/** The caller's prompts by name, all of them. */
export function listPrompts() {
  return everyPage("/api/prompts");
}

/** A new prompt with its version 1: `{name, template, variables?}`. */
export function createPrompt(body) {
  return request("POST", "/api/prompts", body);
}

/** A prompt's versions, newest first, all of them. */
export function listPromptVersions(promptId) {
  return everyPage(`${promptPath(promptId)}/versions`);
}

/** The prompt's next version: `{template, variables?, note?}`. */
export function createPromptVersion(promptId, body) {
  return request("POST", `${promptPath(promptId)}/versions`, body);
}

/** `{diff}`: the unified diff from version `from` to version `to`. */
export function diffPromptVersions(promptId, from, to) {
  return request("GET", `${promptPath(promptId)}/versions/${from}/diff/${to}`);
}
