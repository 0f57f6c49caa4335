// The live feeds (README "Live feeds"): what changes in the open thread and in the
// thread list, made by another tab, another person's key or psql, applied to the page.
// Each feed is read with fetch (so the key goes as a header, never in a URL) and
// reconnects after a dropped connection with the last event id, as EventSource would.
// The page's own actions come back too; applying them is idempotent (by id), and
// while this page follows a reply its own stream is what shows that reply.
import * as api from "./api.js";

const RECONNECT_MS = 1000;

/**
 * One feed, followed until `stop()`: `open(lastEventId, listener)` is an api call.
 * Whenever a connection opens with no id to resume after (the first one, or a
 * reconnection before any event came), `catchUp()` reloads what the feed shows, once
 * the feed is open: the server has then fixed where it starts, so nothing between
 * the page's earlier read and the feed's start is missed. The page reads first and
 * follows after, so a feed that is slow to open never holds the page up.
 */
class Follower {
  constructor(open, onEvent, catchUp) {
    this.abort = new AbortController();
    this.lastEventId = "";
    this.run(open, onEvent, catchUp);
  }

  async run(open, onEvent, catchUp) {
    const { signal } = this.abort;
    while (!signal.aborted) {
      const reload = !this.lastEventId;
      try {
        await open(this.lastEventId, {
          signal,
          onOpen: () => reload && catchUp(),
          onEvent: (event) => {
            if (event.id) this.lastEventId = event.id;
            onEvent(event);
          },
        });
      } catch (error) {
        // A 404 (the thread is gone) or a 401 (the key is): nothing to reconnect to.
        if (error instanceof api.ApiError && error.status < 500) return;
      }
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
    }
  }

  stop() {
    this.abort.abort();
  }
}

/** Newest activity first, as `GET /api/threads` lists them. */
function byActivity(a, b) {
  if (a.last_activity_at !== b.last_activity_at) return a.last_activity_at < b.last_activity_at ? 1 : -1;
  return a.id < b.id ? 1 : -1;
}

/** What the settings panel shows of a thread, comparable as a string. */
function settingsOf(thread) {
  const { system_prompt, model, params, tools } = thread;
  return JSON.stringify({ system_prompt, model, params, tools });
}

export class FeedSync {
  /** @param {import("./controller.js").Controller} controller */
  constructor(controller) {
    this.controller = controller;
    this.list = null;
    this.thread = null;
  }

  /** Follow the thread list of whoever is signed in. */
  followList() {
    this.list?.stop();
    this.list = new Follower(
      (last, listener) => api.followEvents(last, listener),
      (event) => this.guard(() => this.onListEvent(event)),
      () => this.guard(() => this.controller.loadThreads()),
    );
  }

  /** Follow the open thread (and stop following the one before). */
  followThread(threadId) {
    this.thread?.stop();
    this.thread = new Follower(
      (last, listener) => api.followThreadEvents(threadId, last, listener),
      (event) => this.guard(() => this.onThreadEvent(threadId, event)),
      () => this.guard(() => this.catchUp(threadId)),
    );
  }

  stopThread() {
    this.thread?.stop();
    this.thread = null;
  }

  stop() {
    this.stopThread();
    this.list?.stop();
    this.list = null;
  }

  guard(apply) {
    Promise.resolve()
      .then(apply)
      .catch((error) => this.controller.fail(error));
  }

  onListEvent({ event, data }) {
    const { store } = this.controller;
    if (event === "thread.deleted") {
      store.threads = store.threads.filter((t) => t.id !== data.thread_id);
      if (store.isOpen(data.thread_id)) this.controller.closeDeletedThread(data.thread_id);
    } else {
      store.threads = [...store.threads.filter((t) => t.id !== data.thread.id), data.thread].sort(byActivity);
    }
    this.controller.showThreads();
  }

  async onThreadEvent(threadId, { event, data }) {
    const { controller } = this;
    const { store } = controller;
    if (!store.isOpen(threadId)) return;
    if (event === "thread.updated") {
      // This page's own save is already shown (with its "Saved"): only others' change it.
      const changed = settingsOf(store.thread) !== settingsOf(data.thread);
      store.setThread(data.thread);
      controller.showTitle();
      // Unsaved typing stays: saving it then meets the newer version (a 412 to resolve).
      if (changed && !controller.views.settings.editing()) controller.views.settings.show(data.thread);
      return;
    }
    if (event === "thread.deleted") {
      controller.closeDeletedThread(threadId);
      return;
    }
    // This page's own reply shows through its own stream, and the branch is reloaded
    // when it ends.
    if (store.busy) return;
    if (event === "generation.started") {
      await controller.followGeneration(data.generation_id);
    } else if (event === "message.created") {
      this.place(data.message);
    } else if (event === "message.updated") {
      const shown = store.messages.findIndex((m) => m.id === data.message.id);
      if (shown !== -1) store.messages[shown] = data.message;
    } else if (event === "message.deleted") {
      if (store.messages.some((m) => m.id === data.message_id)) await controller.reloadMessages();
    } else if (event === "head.changed") {
      store.setThread(data.thread);
      if (store.messages.at(-1)?.id !== data.thread.head_id) await controller.reloadMessages();
    }
    controller.render();
  }

  async catchUp(threadId) {
    const { controller } = this;
    if (!controller.store.isOpen(threadId) || controller.store.busy) return;
    await controller.refreshThread();
    await controller.reloadMessages();
  }

  /** A new message below the end of the branch extends it; others wait for head.changed. */
  place(message) {
    const { store } = this.controller;
    if (store.messages.some((m) => m.id === message.id)) return;
    const last = store.messages.at(-1);
    if ((last?.id ?? null) === message.parent_id) store.messages.push(message);
  }
}
