// Calls to the playground API. Every non-2xx answer becomes an ApiError carrying the
// server's `detail`, so callers can show it instead of a generic failure.
import { readEvents } from "./sse.js";

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

function options(method, body, signal) {
  const init = { method, signal, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return init;
}

/** A JSON request; resolves to the parsed body (null for 204). */
export async function request(method, path, body) {
  const response = await fetch(path, options(method, body));
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  return response.json();
}

/**
 * A request answered with Server-Sent Events: `onEvent({event, id, data})` is called
 * for each one, data already parsed. Resolves when the stream ends (false when the
 * server answered 204: nothing to follow). fetch is used rather than EventSource
 * because sends and regenerations are POSTs.
 */
export async function stream(method, path, body, onEvent, signal) {
  const init = options(method, body, signal);
  init.headers.accept = "text/event-stream";
  const response = await fetch(path, init);
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return false;
  if (!(response.headers.get("content-type") || "").startsWith("text/event-stream")) {
    throw new ApiError(response.status, "expected an event stream");
  }
  await readEvents(response.body, (frame) => {
    onEvent({ event: frame.event, id: frame.id, data: frame.data ? JSON.parse(frame.data) : {} });
  });
  return true;
}
