// The page's state and wiring: which thread is open (kept in the URL hash, so a reload
// reopens it), its active branch, and the one reply that may be streaming.
import * as api from "./api.js";
import { Conversation } from "./conversation.js";
import { LiveReply, clearProgress, loadProgress, restoreProgress } from "./live.js";
import { SettingsForm } from "./settings.js";
import { ThreadList, titleOf } from "./threads.js";
import { byId as $ } from "./dom.js";

const state = {
  thread: null,
  messages: [],
  live: null, // {reply: LiveReply, abort: AbortController} while a reply streams
  nextCursor: null,
  threads: [],
};

// ---- errors: every failed call ends here, visible until dismissed or replaced ----

function showError(error) {
  $("error-text").textContent = String(error.message || error);
  $("error-banner").hidden = false;
}

function clearError() {
  $("error-banner").hidden = true;
}

/** Run an action triggered by the person; report its failure instead of losing it. */
function guarded(action) {
  return async (...args) => {
    try {
      clearError();
      await action(...args);
    } catch (error) {
      showError(error);
    }
  };
}

// ---- rendering ----

let frameRequested = false;

/** Re-render at most once per animation frame: deltas arrive faster than that. */
function rerender() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    const messages = state.live ? state.live.reply.messages : state.messages;
    const scroller = $("conversation");
    // Follow a growing reply only while the reader is at the bottom, not after they scrolled up.
    const atBottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
    conversation.render(messages, Boolean(state.live));
    if (atBottom) scroller.scrollTop = scroller.scrollHeight;
    $("empty-state").hidden = messages.length > 0;
    $("send").hidden = Boolean(state.live);
    $("stop").hidden = !state.live;
  });
}

function showThreadHeader() {
  $("thread-title").textContent = state.thread ? titleOf(state.thread) : "Playground";
  document.title = state.thread ? `${titleOf(state.thread)} · Playground` : "Playground";
}

// ---- threads ----

async function loadThreads() {
  const page = await api.listThreads();
  state.threads = page.data;
  state.nextCursor = page.next_cursor;
  showThreadList();
}

async function loadMoreThreads() {
  const page = await api.listThreads(state.nextCursor);
  state.threads.push(...page.data);
  state.nextCursor = page.next_cursor;
  showThreadList();
}

function showThreadList() {
  threadList.show(state.threads, state.thread?.id ?? null);
  $("more-threads").hidden = !state.nextCursor;
}

async function openThread(threadId) {
  stopFollowing();
  const [thread, messages] = await Promise.all([
    api.getThread(threadId),
    api.listMessages(threadId),
  ]);
  state.thread = thread;
  state.messages = messages.data;
  conversation.editing = null;
  if (location.hash !== `#${threadId}`) history.replaceState(null, "", `#${threadId}`);
  showThreadHeader();
  settings.show(thread);
  showThreadList();
  closePanels();
  rerender();
  await resume();
}

async function refreshThread() {
  if (!state.thread) return;
  state.thread = await api.getThread(state.thread.id);
  showThreadHeader();
  await loadThreads();
}

async function reloadMessages() {
  const page = await api.listMessages(state.thread.id);
  state.messages = page.data;
  rerender();
}

async function createThread() {
  const thread = await api.createThread();
  await loadThreads();
  await openThread(thread.id);
  $("composer-input").focus();
}

async function renameThread(threadId, title) {
  const thread = await api.updateThread(threadId, { title });
  if (state.thread?.id === threadId) {
    state.thread = thread;
    showThreadHeader();
  }
  await loadThreads();
}

async function deleteThread(threadId) {
  await api.deleteThread(threadId);
  clearProgress(threadId);
  if (state.thread?.id === threadId) {
    stopFollowing();
    state.thread = null;
    state.messages = [];
    history.replaceState(null, "", location.pathname);
    showThreadHeader();
    rerender();
  }
  await loadThreads();
}

async function saveSettings(threadId, changes) {
  settings.setStatus("Saving…");
  try {
    state.thread = await api.updateThread(threadId, changes);
  } catch (error) {
    settings.setStatus("Not saved");
    throw error;
  }
  settings.show(state.thread);
  settings.setStatus("Saved");
}

// ---- replies: send, regenerate, branch, follow, stop ----

/**
 * Show the reply that `open(listener)` streams (one of the api's streaming calls) as
 * it grows; then reload the branch.
 */
async function runReply(open, progress = null) {
  const threadId = state.thread.id;
  const reply = new LiveReply(threadId, structuredClone(state.messages), progress);
  const abort = new AbortController();
  state.live = { reply, abort };
  rerender();
  let started = false;
  try {
    started = await open({ onEvent: (event) => onEvent(reply, event), signal: abort.signal });
  } catch (error) {
    if (error.name !== "AbortError") throw error;
  } finally {
    if (state.live?.reply === reply) state.live = null;
    if (!started) clearProgress(threadId);
    if (state.thread?.id === threadId && !abort.signal.aborted) {
      await reloadMessages();
      await refreshThread();
    }
    rerender();
  }
}

function onEvent(reply, event) {
  reply.apply(event);
  if (event.event === "error") showError(new api.ApiError("stream", event.data.detail));
  if (event.event === "tool_result" && callName(reply.messages, event.data.call_id) === "set_thread_title") {
    refreshThread().catch(showError);
  }
  rerender();
}

function callName(messages, callId) {
  for (const message of messages) {
    const call = (message.tool_calls || []).find((c) => c.id === callId);
    if (call) return call.function.name;
  }
  return null;
}

/** After opening a thread: follow a reply still being generated, from where we were. */
async function resume() {
  const progress = loadProgress(state.thread.id);
  const running = state.messages.at(-1)?.status === "in_progress";
  if (!running && !progress) return;
  if (progress) restoreProgress(state.messages, progress);
  const threadId = state.thread.id;
  await runReply((listener) => api.followReply(threadId, progress?.eventId, listener), progress);
}

function stopFollowing() {
  // Only this page stops listening; the reply goes on and is stored by the server.
  state.live?.abort.abort();
  state.live = null;
}

async function send(content) {
  const threadId = state.thread.id;
  await runReply((listener) => api.sendMessage(threadId, { content }, listener));
}

async function stopReply() {
  await api.cancelReply(state.thread.id);
}

const messageActions = {
  rerender,
  async edit(message, content) {
    await api.editMessage(state.thread.id, message.id, content);
    await reloadMessages();
  },
  async branch(message, content) {
    const threadId = state.thread.id;
    // A first message branches at the root: "root" asks for a new first message.
    const parent_id = message.parent_id ?? "root";
    if (message.role === "user") {
      await runReply((listener) => api.sendMessage(threadId, { content, parent_id }, listener));
    } else {
      await api.addMessage(threadId, { content, role: message.role, parent_id, generate: false });
      await reloadMessages();
    }
  },
  async regenerate(message) {
    const threadId = state.thread.id;
    await runReply((listener) => api.regenerate(threadId, message.id, listener));
  },
  async fork(message) {
    const thread = await api.forkThread(state.thread.id, message.id);
    await loadThreads();
    await openThread(thread.id);
  },
  async switchTo(message, siblingId) {
    state.thread = await api.setHead(state.thread.id, siblingId);
    await reloadMessages();
  },
};
for (const name of ["edit", "branch", "regenerate", "fork", "switchTo"]) {
  messageActions[name] = guarded(messageActions[name]);
}

// ---- narrow screens: the sidebar and the settings slide over the conversation ----

function togglePanel(id, open) {
  $(id).classList.toggle("open", open);
  if (id === "settings") $("toggle-settings").setAttribute("aria-expanded", String(open));
}

function closePanels() {
  togglePanel("sidebar", false);
}

// ---- start ----

const conversation = new Conversation($("messages"), messageActions);
const threadList = new ThreadList($("thread-list"), $("thread-search"), {
  select: guarded(openThread),
  rename: guarded(renameThread),
  remove: guarded(deleteThread),
});
const settings = new SettingsForm($("settings-form"), guarded(saveSettings));

$("new-thread").addEventListener("click", guarded(createThread));
$("more-threads").addEventListener("click", guarded(loadMoreThreads));
$("error-close").addEventListener("click", clearError);
$("stop").addEventListener("click", guarded(stopReply));
$("open-sidebar").addEventListener("click", () => togglePanel("sidebar", true));
$("close-sidebar").addEventListener("click", () => togglePanel("sidebar", false));
$("toggle-settings").addEventListener("click", () =>
  togglePanel("settings", !$("settings").classList.contains("open")),
);

$("composer").addEventListener(
  "submit",
  guarded(async (event) => {
    event.preventDefault();
    const input = $("composer-input");
    const content = input.value;
    if (!content.trim() || state.live) return;
    if (!state.thread) await createThread();
    input.value = "";
    try {
      await send(content);
    } catch (error) {
      // A refused send (409 while a reply runs, 413, …) keeps the text for another try.
      if (!input.value) input.value = content;
      throw error;
    }
  }),
);
$("composer-input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});
window.addEventListener("hashchange", () => {
  const id = location.hash.slice(1);
  if (id && id !== state.thread?.id) guarded(openThread)(id);
});

guarded(async () => {
  const [models, tools] = await Promise.all([api.listModels(), api.listTools()]);
  settings.setCatalog(models, tools);
  await loadThreads();
  const id = location.hash.slice(1);
  if (id) await openThread(id);
  rerender();
})();
