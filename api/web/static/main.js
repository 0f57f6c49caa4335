// The page's state and wiring: which thread is open (kept in the URL hash, so a reload
// reopens it), its active branch, and the one reply that may be streaming.
import * as api from "./api.js";
import { ComposerView } from "./composer-view.js";
import { ConversationView } from "./conversation-view.js";
import { ErrorView } from "./error-view.js";
import { LiveReply, clearProgress, loadProgress, restoreProgress } from "./live.js";
import { SettingsView } from "./settings-view.js";
import { Store, threadChanges, titleOf } from "./store.js";
import { LocationView } from "./location-view.js";
import { ThreadsView } from "./threads-view.js";
import { TitleView } from "./title-view.js";

const store = new Store();

const showError = (error) => errors.show(error);

/** Run an action triggered by the person; report its failure instead of losing it. */
function guarded(action) {
  return async (...args) => {
    try {
      errors.clear();
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
    conversation.render(store.shownMessages, store.busy);
    composer.setBusy(store.busy);
  });
}

function showThreadHeader() {
  title.show(store.thread ? titleOf(store.thread) : null);
}

// ---- threads ----

async function loadThreads() {
  store.setThreads(await api.listThreads());
  showThreadList();
}

async function loadMoreThreads() {
  store.addThreads(await api.listThreads(store.nextCursor));
  showThreadList();
}

function showThreadList() {
  threads.render(store.threads, store.thread?.id ?? null, Boolean(store.nextCursor));
}

async function openThread(threadId) {
  store.stopFollowing();
  const [thread, messages] = await Promise.all([
    api.getThread(threadId),
    api.listMessages(threadId),
  ]);
  store.openThread(thread, messages.data);
  conversation.clearEditing();
  address.show(threadId);
  showThreadHeader();
  settings.show(thread);
  showThreadList();
  threads.close();
  rerender();
  await resume();
}

async function refreshThread() {
  if (!store.thread) return;
  store.setThread(await api.getThread(store.thread.id));
  showThreadHeader();
  await loadThreads();
}

async function reloadMessages() {
  const page = await api.listMessages(store.thread.id);
  store.setMessages(page.data);
  rerender();
}

async function createThread() {
  const thread = await api.createThread();
  await loadThreads();
  await openThread(thread.id);
  composer.focus();
}

async function renameThread(threadId, title) {
  const thread = await api.updateThread(threadId, { title });
  if (store.isOpen(threadId)) {
    store.setThread(thread);
    showThreadHeader();
  }
  await loadThreads();
}

async function deleteThread(threadId) {
  await api.deleteThread(threadId);
  clearProgress(threadId);
  if (store.isOpen(threadId)) {
    store.stopFollowing();
    store.closeThread();
    address.clear();
    showThreadHeader();
    rerender();
  }
  await loadThreads();
}

async function saveSettings(form) {
  if (!store.thread) return;
  const changes = threadChanges(store.thread, form);
  settings.setStatus("Saving…");
  try {
    store.setThread(await api.updateThread(store.thread.id, changes));
  } catch (error) {
    settings.setStatus("Not saved");
    throw error;
  }
  settings.show(store.thread);
  settings.setStatus("Saved");
}

// ---- replies: send, regenerate, branch, follow, stop ----

/**
 * Show the reply that `open(listener)` streams (one of the api's streaming calls) as
 * it grows; then reload the branch.
 */
async function runReply(open, progress = null) {
  const threadId = store.thread.id;
  const reply = new LiveReply(threadId, structuredClone(store.messages), progress);
  const abort = new AbortController();
  store.startReply({ reply, abort });
  rerender();
  let started = false;
  try {
    started = await open({ onEvent: (event) => onEvent(reply, event), signal: abort.signal });
  } catch (error) {
    if (error.name !== "AbortError") throw error;
  } finally {
    store.endReply(reply);
    if (!started) clearProgress(threadId);
    if (store.isOpen(threadId) && !abort.signal.aborted) {
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
  const threadId = store.thread.id;
  const progress = loadProgress(threadId);
  const running = store.messages.at(-1)?.status === "in_progress";
  if (!running && !progress) return;
  if (progress) store.setMessages(restoreProgress(store.messages, progress));
  await runReply((listener) => api.followReply(threadId, progress?.eventId, listener), progress);
}

async function send(content) {
  if (!content.trim() || store.busy) return;
  if (!store.thread) await createThread();
  composer.clear();
  const threadId = store.thread.id;
  try {
    await runReply((listener) => api.sendMessage(threadId, { content }, listener));
  } catch (error) {
    // A refused send (409 while a reply runs, 413, …) keeps the text for another try.
    composer.restore(content);
    throw error;
  }
}

async function stopReply() {
  await api.cancelReply(store.thread.id);
}

async function editMessage(message, content) {
  await api.editMessage(store.thread.id, message.id, content);
  await reloadMessages();
}

async function branch(message, content) {
  const threadId = store.thread.id;
  // A first message branches at the root: "root" asks for a new first message.
  const parent_id = message.parent_id ?? "root";
  if (message.role === "user") {
    await runReply((listener) => api.sendMessage(threadId, { content, parent_id }, listener));
  } else {
    await api.addMessage(threadId, { content, role: message.role, parent_id, generate: false });
    await reloadMessages();
  }
}

async function regenerate(message) {
  const threadId = store.thread.id;
  await runReply((listener) => api.regenerate(threadId, message.id, listener));
}

async function fork(message) {
  const thread = await api.forkThread(store.thread.id, message.id);
  await loadThreads();
  await openThread(thread.id);
}

async function switchSibling(siblingId) {
  store.setThread(await api.setHead(store.thread.id, siblingId));
  await reloadMessages();
}

// ---- start ----

const errors = new ErrorView();
const title = new TitleView();
const address = new LocationView();
const composer = new ComposerView();
composer.bindSend(guarded(send));
composer.bindStop(guarded(stopReply));
const conversation = new ConversationView();
conversation.bindEdit(guarded(editMessage));
conversation.bindBranch(guarded(branch));
conversation.bindRegenerate(guarded(regenerate));
conversation.bindFork(guarded(fork));
conversation.bindSwitchSibling(guarded(switchSibling));
const threads = new ThreadsView();
threads.bindCreateThread(guarded(createThread));
threads.bindLoadMore(guarded(loadMoreThreads));
threads.bindSelectThread(guarded(openThread));
threads.bindRenameThread(guarded(renameThread));
threads.bindDeleteThread(guarded(deleteThread));
const settings = new SettingsView();
settings.bindSave(guarded(saveSettings));

address.bindThreadIdChange((id) => {
  if (id && !store.isOpen(id)) guarded(openThread)(id);
});

guarded(async () => {
  const [models, tools] = await Promise.all([api.listModels(), api.listTools()]);
  settings.setCatalog(models.data, tools.data);
  await loadThreads();
  const id = address.threadId();
  if (id) await openThread(id);
  rerender();
})();
