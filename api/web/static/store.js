// What the page knows, without any DOM: who is signed in, the threads listed in the
// sidebar, the open thread (its settings included) and its active branch, and the one
// reply that may be streaming. The controller changes it through these methods and
// then asks the views to show it.

/**
 * @typedef {object} Me the caller, as `GET /api/me` answers
 * @property {string} principal_id
 * @property {string} name
 * @property {"member"|"admin"} role
 * @property {"off"|"required"} auth whether the server requires a key
 */

/**
 * @typedef {object} Thread
 * @property {string} id
 * @property {string|null} title
 * @property {string|null} system_prompt
 * @property {string} model
 * @property {{temperature?: number, max_tokens?: number}} params
 * @property {Array<string|object>} tools built-in tool names, or client-defined functions
 * @property {string} last_activity_at
 * @property {number} version sent back as `If-Match` with a change of it
 */

/**
 * @typedef {object} Message
 * @property {string} id
 * @property {"system"|"user"|"assistant"|"tool"} role
 * @property {string|null} parent_id
 * @property {string} content
 * @property {string} status
 * @property {string[]} [sibling_ids] its versions, itself included, oldest first
 * @property {Array<{id: string, function: {name: string, arguments: string}}>} [tool_calls]
 * @property {string} [tool_call_id] on a tool message: the call it answers
 * @property {string|null} [error] why the message failed, or why a tool call was rejected
 * @property {number} version sent back as `If-Match` with an edit
 */

/**
 * @typedef {object} SearchResult a match of `GET /api/search`
 * @property {string} thread_id
 * @property {string|null} thread_title
 * @property {string|null} message_id null when the thread's title matched
 * @property {string|null} role
 * @property {Array<{text: string, match: boolean}>} snippet the matched words marked
 */

/**
 * @typedef {object} Live the reply being followed
 * @property {import("./live.js").LiveReply} reply the branch as its events say it is
 * @property {AbortController} abort stops this page listening, not the reply
 */

export class Store {
  constructor() {
    /** @type {Me|null} null until the server said who is calling */
    this.me = null;
    /** @type {Thread[]} */
    this.threads = [];
    /** @type {string|null} where the next page of threads starts, if there is one */
    this.nextCursor = null;
    /** @type {Thread|null} */
    this.thread = null;
    /** @type {Message[]} the open thread's active branch, as last loaded */
    this.messages = [];
    /** @type {Live|null} */
    this.live = null;
    /** @type {{query: string, results: SearchResult[]}|null} null when not searching */
    this.search = null;
  }

  /** A reply is streaming: the page shows it and holds back anything that would race it. */
  get busy() {
    return this.live !== null;
  }

  /** The branch to show: the streaming reply's copy while there is one. */
  get shownMessages() {
    return this.live ? this.live.reply.messages : this.messages;
  }

  /** @param {Me} me */
  signIn(me) {
    this.me = me;
  }

  /** Forget the caller and all that was loaded for them; their reply goes on on the server. */
  signOut() {
    this.stopFollowing();
    this.closeThread();
    this.threads = [];
    this.nextCursor = null;
    this.search = null;
    this.me = null;
  }

  /** @param {{data: Thread[], next_cursor: string|null}} page the first page */
  setThreads(page) {
    this.threads = page.data;
    this.nextCursor = page.next_cursor;
  }

  /** @param {{data: Thread[], next_cursor: string|null}} page the page after the last one */
  addThreads(page) {
    this.threads.push(...page.data);
    this.nextCursor = page.next_cursor;
  }

  /** @param {{query: string, results: SearchResult[]}|null} search null: back to the list */
  setSearch(search) {
    this.search = search;
  }

  isOpen(threadId) {
    return this.thread?.id === threadId;
  }

  /** @param {Thread} thread @param {Message[]} messages its active branch */
  openThread(thread, messages) {
    this.thread = thread;
    this.messages = messages;
  }

  closeThread() {
    this.thread = null;
    this.messages = [];
  }

  /** @param {Thread} thread the open thread as the API now returns it */
  setThread(thread) {
    this.thread = thread;
  }

  /** @param {Message[]} messages */
  setMessages(messages) {
    this.messages = messages;
  }

  /** @param {Live} live */
  startReply(live) {
    this.live = live;
  }

  /** The stream of `reply` ended; a newer one may already have replaced it. */
  endReply(reply) {
    if (this.live?.reply === reply) this.live = null;
  }

  stopFollowing() {
    // Only this page stops listening; the reply goes on and is stored by the server.
    this.live?.abort.abort();
    this.live = null;
  }
}

/** @param {Thread} thread */
export function titleOf(thread) {
  return thread.title || "Untitled thread";
}

/**
 * @typedef {object} SettingsForm the settings panel's fields, as typed
 * @property {string} systemPrompt
 * @property {string} model
 * @property {string} temperature empty for the model's default
 * @property {string} maxTokens empty for the model's default
 * @property {string[]} tools the built-in tools ticked
 * @property {string|null} promptId the prompt of the library used instead of systemPrompt
 * @property {number|"latest"} promptVersion
 * @property {Object<string, string>} promptVariables the variables filled in
 */

/**
 * The PATCH body that gives `thread` the settings typed in the form.
 * @param {Thread} thread
 * @param {SettingsForm} form
 */
export function threadChanges(thread, form) {
  const params = { ...thread.params };
  setOrDelete(params, "temperature", form.temperature);
  setOrDelete(params, "max_tokens", form.maxTokens);
  // Client-defined functions have no checkbox in the form; keep them as they are.
  const clientFunctions = thread.tools.filter((tool) => typeof tool !== "string");
  // A prompt of the library replaces the literal system prompt (the API takes one).
  const prompt = form.promptId
    ? { system_prompt: null, prompt_id: form.promptId, prompt_version: form.promptVersion, prompt_variables: form.promptVariables }
    : { system_prompt: form.systemPrompt.trim() ? form.systemPrompt : null, prompt_id: null };
  return {
    ...prompt,
    model: form.model,
    params,
    tools: [...form.tools, ...clientFunctions],
  };
}

/**
 * Settings as text for a person comparing two versions of them.
 * @param {{system_prompt?: string|null, model?: string, params?: object, tools?: Array<string|object>}} settings
 */
export function describeSettings(settings) {
  const tools = (settings.tools ?? []).map((tool) => (typeof tool === "string" ? tool : tool.name));
  return [
    settings.prompt_id
      ? `Prompt: ${settings.prompt_id} ${settings.prompt_version} ${JSON.stringify(settings.prompt_variables ?? {})}`
      : `System prompt: ${settings.system_prompt || "(none)"}`,
    `Model: ${settings.model}`,
    `Params: ${JSON.stringify(settings.params ?? {})}`,
    `Tools: ${tools.join(", ") || "(none)"}`,
  ].join("\n");
}

// Out-of-range values are sent as typed: the API's 400 names the field, and the page
// shows it, which explains more than a browser tooltip.
function setOrDelete(params, name, value) {
  if (value === "") delete params[name];
  else params[name] = Number(value);
}
