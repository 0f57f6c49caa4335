// Applies a reply's SSE events to the active branch shown on the page, and remembers
// how far it got (per thread, in sessionStorage) so a reload can resume the stream
// after the last event instead of replaying or losing text.

const KEY = (threadId) => `playground:stream:${threadId}`;

/** What was saved for the thread: {eventId, contents: {messageId: text}, compare} or
 * null; `compare` when the reply was a compare run's. */
export function loadProgress(threadId) {
  try {
    return JSON.parse(sessionStorage.getItem(KEY(threadId)));
  } catch {
    return null;
  }
}

export function clearProgress(threadId) {
  sessionStorage.removeItem(KEY(threadId));
}

/**
 * `messages` with the text of streamed messages at `progress.eventId` instead of the
 * stored one: the database is written in batches, so its copy may be ahead of or behind
 * that event, and the events that follow it apply on top of exactly this text.
 */
export function restoreProgress(messages, progress) {
  return messages.map((message) => {
    const text = progress.contents[message.id];
    return text === undefined ? message : { ...message, content: text };
  });
}

/** A live reply: events in, an updated message list (the active branch) out. */
export class LiveReply {
  constructor(threadId, messages, progress) {
    this.threadId = threadId;
    this.messages = messages;
    this.contents = progress ? { ...progress.contents } : {};
    this.sawDone = false;
    // Replies of a compare run shown beside the branch, not in it.
    this.beside = new Set();
  }

  apply({ event, id, data }) {
    const handler = HANDLERS[event];
    if (handler) handler(this, data);
    if (event === "done") {
      this.sawDone = true;
      clearProgress(this.threadId);
    } else if (id) {
      const saved = { eventId: id, contents: this.contents, compare: this.beside.size > 0 };
      sessionStorage.setItem(KEY(this.threadId), JSON.stringify(saved));
    }
  }

  find(id) {
    return this.messages.find((message) => message.id === id);
  }

  /** The name of the tool a call in this branch asked for, or null. */
  toolName(callId) {
    for (const message of this.messages) {
      const call = (message.tool_calls || []).find((c) => c.id === callId);
      if (call) return call.function.name;
    }
    return null;
  }

  /** A new message replaces whatever the branch showed below its parent. */
  place(message) {
    const existing = this.messages.findIndex((m) => m.id === message.id);
    if (existing !== -1) {
      this.messages[existing] = message;
      return;
    }
    const parent = this.messages.findIndex((m) => m.id === message.parent_id);
    if (message.parent_id === null || parent !== -1) this.messages.length = parent + 1;
    this.messages.push(message);
  }
}

const HANDLERS = {
  "message.created"(live, { message }) {
    // A compare run's later replies stream in their own columns (compare-view.js); the
    // branch shows its first, which the head follows.
    const last = live.messages.at(-1);
    // (Followed again from the first event, the branch already holds the first reply.)
    if (message.role === "assistant" && last?.role === "assistant" && last.id !== message.id && last.parent_id === message.parent_id && last.status === "in_progress") {
      live.beside.add(message.id);
      return;
    }
    live.contents[message.id] = message.content;
    live.place({ ...message });
  },
  "message.delta"(live, { message_id, content }) {
    const message = live.find(message_id);
    if (!message) return;
    message.content += content;
    live.contents[message_id] = message.content;
  },
  tool_call(live, { message_id, call }) {
    const message = live.find(message_id);
    if (!message) return;
    message.tool_calls = [
      ...(message.tool_calls || []).filter((c) => c.id !== call.id),
      { id: call.id, type: "function", function: { name: call.name, arguments: JSON.stringify(call.arguments) } },
    ];
  },
  tool_result(live, { message_id, call_id, output, error }) {
    // The stored tool message is not announced with message.created: build its view.
    const content = error !== undefined ? `error: ${error}` : JSON.stringify(output);
    live.place({
      id: message_id,
      role: "tool",
      parent_id: live.messages.at(-1)?.id ?? null,
      tool_call_id: call_id,
      content,
      error: error ?? null,
      status: "completed",
      sibling_ids: [message_id],
    });
  },
  "message.completed"(live, { message }) {
    if (live.beside.has(message.id)) return;
    live.contents[message.id] = message.content;
    live.place({ ...message });
  },
};
