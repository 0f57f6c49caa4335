// Wires the store to the views. A person's action reaches a handler here through a
// view's bind… method; the handler calls the API, puts the answer in the store and
// asks the views to show it. Any failure ends in the error banner, but a 401 (no key,
// a wrong one, or one revoked or expired since) brings back the sign-in form.
import * as api from "./api.js";
import { conditional } from "./conditional.js";
import { FeedSync } from "./feed.js";
import { LiveReply, clearProgress, loadProgress, restoreProgress } from "./live.js";
import { PromptLibrary } from "./prompt-library.js";
import { describeSettings, threadChanges, titleOf } from "./store.js";

/** @typedef {import("./store.js").Message} Message */

/**
 * @typedef {object} Views
 * @property {import("./account-view.js").AccountView} account
 * @property {import("./address-view.js").AddressView} address
 * @property {import("./compare-view.js").CompareView} compare
 * @property {import("./conflict-view.js").ConflictView} conflict
 * @property {import("./composer-view.js").ComposerView} composer
 * @property {import("./conversation-view.js").ConversationView} conversation
 * @property {import("./error-view.js").ErrorView} errors
 * @property {import("./login-view.js").LoginView} login
 * @property {import("./request-view.js").RequestView} requests
 * @property {import("./settings-view.js").SettingsView} settings
 * @property {import("./threads-view.js").ThreadsView} threads
 * @property {import("./title-view.js").TitleView} title
 */

export class Controller {
  /**
   * @param {import("./store.js").Store} store
   * @param {Views} views
   */
  constructor(store, views) {
    this.store = store;
    this.views = views;
    this.frameRequested = false;
    this.feeds = new FeedSync(this);
    const { account, address, composer, conversation, login, settings, threads } = views;
    login.bindSignIn(this.guarded(this.signIn));
    account.bindSignOut(this.guarded(this.signOut));
    threads.bindCreateThread(this.guarded(this.createThread));
    threads.bindLoadMore(this.guarded(this.loadMoreThreads));
    threads.bindSelectThread(this.guarded(this.openThread));
    threads.bindRenameThread(this.guarded(this.renameThread));
    threads.bindDeleteThread(this.guarded(this.deleteThread));
    threads.bindSearch(this.guarded(this.search));
    threads.bindOpenResult(this.guarded(this.openSearchResult));
    settings.bindSave(this.guarded(this.saveSettings));
    this.library = new PromptLibrary(views.prompts, (action) => this.guarded(action));
    composer.bindSend(this.guarded(this.send));
    composer.bindStop(this.guarded(this.stop));
    conversation.bindEdit(this.guarded(this.editMessage));
    conversation.bindBranch(this.guarded(this.branch));
    conversation.bindRegenerate(this.guarded(this.regenerate));
    conversation.bindFork(this.guarded(this.fork));
    conversation.bindSwitchSibling(this.guarded(this.switchSibling));
    views.requests.bindShow(this.guarded(this.showRequest));
    views.requests.bindReplay(this.guarded(this.replay));
    views.compare.bindUse(this.guarded(this.useReply));
    address.bindThreadIdChange((id) => {
      if (id && !store.isOpen(id)) this.guarded(this.openThread)(id);
    });
  }

  /** Open the playground, or the sign-in form when the server wants a key we lack. */
  start() {
    return this.guarded(this.enter)();
  }

  /**
   * Ask who is calling (a 401 here asks for a key), then fill the settings pickers,
   * list the threads and reopen the one named in the URL.
   */
  async enter() {
    const { store, views } = this;
    store.signIn(await api.getMe());
    views.login.hide();
    views.account.show(store.me);
    const [models, tools] = await Promise.all([api.listModels(), api.listTools()]);
    views.settings.setCatalog(models.data, tools.data);
    views.requests.setModels(models.data);
    await this.library.load();
    views.compare.setCatalog(models.data);
    await this.loadThreads();
    this.feeds.followList();
    const id = views.address.threadId();
    if (id) await this.openThread(id);
    this.render();
  }

  /** Run an action triggered by the person; report its failure instead of losing it. */
  guarded(action) {
    return async (...args) => {
      try {
        this.views.errors.clear();
        await action.apply(this, args);
      } catch (error) {
        this.fail(error);
      }
    };
  }

  /** Show why something failed: in the banner, or on the sign-in form for a 401. */
  fail(error) {
    if (error instanceof api.ApiError && error.status === 401) this.askForKey(error.detail);
    else this.views.errors.show(error);
  }

  // ---- signing in and out ----

  /** @param {string} key typed in the sign-in form */
  async signIn(key) {
    this.views.login.clearError();
    api.useKey(key);
    await this.enter();
  }

  signOut() {
    api.forgetKey();
    this.views.login.clearError();
    this.views.address.clear();
    this.leave();
  }

  /**
   * The server refused the call. A key it refused is forgotten and the form says why;
   * without a key (a first visit, or another call refused at the same time) it just asks.
   * @param {string} detail the server's reason
   */
  askForKey(detail) {
    if (api.hasKey()) {
      api.forgetKey();
      this.views.login.showError(detail);
    }
    this.leave();
  }

  /** Forget the caller and what the page showed them, and ask for a key. */
  leave() {
    const { store, views } = this;
    this.feeds.stop();
    store.signOut();
    views.account.show(null);
    this.showTitle();
    this.showThreads();
    this.render();
    views.login.show();
  }

  // ---- showing the store ----

  /** Re-render the branch at most once per animation frame: deltas arrive faster than that. */
  render() {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame(() => {
      this.frameRequested = false;
      const { store, views } = this;
      views.conversation.render(store.shownMessages, store.busy);
      views.requests.attach(store.busy);
      views.composer.setBusy(store.busy);
    });
  }

  showTitle() {
    const { thread } = this.store;
    this.views.title.show(thread ? titleOf(thread) : null);
  }

  showThreads() {
    const { store } = this;
    this.views.threads.render(store.threads, store.thread?.id ?? null, Boolean(store.nextCursor));
    this.views.threads.showSearch(store.search);
  }

  // ---- conditional writes (conditional.js) ----

  /** The thread as this page last saw it: the open one, else its entry in the list. */
  knownThread(threadId) {
    const { store } = this;
    return store.isOpen(threadId) ? store.thread : store.threads.find((thread) => thread.id === threadId);
  }

  /** Show `thread` as the API now returns it, wherever the page shows it. */
  applyThread(thread) {
    const { store } = this;
    if (store.isOpen(thread.id)) {
      store.setThread(thread);
      this.showTitle();
    }
    store.threads = store.threads.map((known) => (known.id === thread.id ? thread : known));
    this.showThreads();
  }

  // ---- threads ----

  async loadThreads() {
    this.store.setThreads(await api.listThreads());
    this.showThreads();
  }

  async loadMoreThreads() {
    this.store.addThreads(await api.listThreads(this.store.nextCursor));
    this.showThreads();
  }

  // ---- search ----

  /** @param {string} query the search box's words; "" goes back to the thread list */
  async search(query) {
    const { store, views } = this;
    const page = query ? await api.searchThreads(query) : null;
    // A slower answer to earlier words must not replace the newer one's.
    if (query !== views.threads.query()) return;
    store.setSearch(page && { query, results: page.data });
    views.threads.showSearch(store.search);
  }

  /**
   * Open a match's thread on its message: when the message is on another branch, that
   * branch becomes the active one first (the head moves to its newest leaf).
   * @param {import("./store.js").SearchResult} result
   */
  async openSearchResult({ thread_id, message_id }) {
    if (message_id) {
      const branch = await api.listMessages(thread_id);
      if (!branch.data.some((message) => message.id === message_id)) await api.setHead(thread_id, message_id);
      this.views.conversation.reveal(message_id);
    }
    await this.openThread(thread_id);
  }

  async openThread(threadId) {
    const { store, views } = this;
    store.stopFollowing();
    this.feeds.stopThread();
    const [thread, messages] = await Promise.all([api.getThread(threadId), api.listMessages(threadId)]);
    store.openThread(thread, messages.data);
    // After the read: once open, the feed reloads the thread, so no change in between is missed.
    this.feeds.followThread(threadId);
    views.compare.clear();
    views.conversation.clearEditing();
    views.address.show(threadId);
    this.showTitle();
    views.settings.show(thread);
    await this.library.show(thread);
    this.showThreads();
    views.threads.close();
    this.render();
    await this.resume();
  }

  /** The open thread changed on the server (a reply ended, a tool renamed it). */
  async refreshThread() {
    if (!this.store.thread) return;
    this.store.setThread(await api.getThread(this.store.thread.id));
    this.showTitle();
    await this.loadThreads();
  }

  async reloadMessages() {
    const page = await api.listMessages(this.store.thread.id);
    this.store.setMessages(page.data);
    this.render();
  }

  async createThread() {
    const thread = await api.createThread();
    await this.loadThreads();
    await this.openThread(thread.id);
    this.views.composer.focus();
  }

  async renameThread(threadId, title) {
    const known = this.knownThread(threadId);
    const write = (version) => api.updateThread(threadId, { title }, version);
    const thread = await conditional(this.views.conflict, known.version, write, {
      what: `The thread “${titleOf(known)}”`,
      mine: `Title: ${title ?? "(none)"}`,
      shown: (current) => `Title: ${current.title ?? "(none)"}`,
      refused: (current) => this.applyThread(current),
      untouched: (current) => current.title === known.title,
    });
    if (thread) this.applyThread(thread);
    await this.loadThreads();
  }

  async deleteThread(threadId) {
    const { store, views } = this;
    const known = this.knownThread(threadId);
    const write = (version) => api.deleteThread(threadId, version).then(() => true);
    const deleted = await conditional(views.conflict, known.version, write, {
      what: `The thread “${titleOf(known)}”`,
      mine: "Delete it, with all its messages",
      shown: (current) => `Title: ${titleOf(current)}\n${describeSettings(current)}`,
      refused: (current) => this.applyThread(current),
      untouched: (current) =>
        current.title === known.title && describeSettings(current) === describeSettings(known),
    });
    if (!deleted) return;
    if (store.isOpen(threadId)) this.closeDeletedThread(threadId);
    else clearProgress(threadId);
    await this.loadThreads();
  }

  /** The open thread was deleted (here, or elsewhere: the live feed said so). */
  closeDeletedThread(threadId) {
    const { store, views } = this;
    clearProgress(threadId);
    this.feeds.stopThread();
    store.stopFollowing();
    store.closeThread();
    views.address.clear();
    this.showTitle();
    this.render();
  }

  /** @param {Message} message the last message the new thread keeps */
  async fork(message) {
    const thread = await api.forkThread(this.store.thread.id, message.id);
    await this.loadThreads();
    await this.openThread(thread.id);
  }

  /** @param {import("./store.js").SettingsForm} form */
  async saveSettings(form) {
    const { store, views } = this;
    if (!store.thread) return;
    // The copy the form was filled from, which may be older than the stored one.
    const seen = views.settings.base ?? store.thread;
    const changes = threadChanges(seen, form);
    const threadId = store.thread.id;
    views.settings.setStatus("Saving…");
    const write = (version) => api.updateThread(threadId, changes, version);
    const same = (current, key) => JSON.stringify(current[key]) === JSON.stringify(seen[key]);
    let saved;
    try {
      saved = await conditional(views.conflict, seen.version, write, {
        what: "The thread's settings",
        mine: describeSettings(changes),
        shown: describeSettings,
        // The form keeps what the person typed until they choose.
        refused: (current) => this.applyThread(current),
        untouched: (current) => Object.keys(changes).every((key) => same(current, key)),
      });
    } catch (error) {
      views.settings.setStatus("Not saved");
      throw error;
    }
    if (saved) this.applyThread(saved);
    if (!store.isOpen(threadId)) return;
    views.settings.show(store.thread);
    await this.library.show(store.thread);
    views.settings.setStatus(saved ? "Saved" : "Kept theirs");
  }

  // ---- replies: send, regenerate, branch, follow, stop ----

  /**
   * Show the reply that `open(listener)` streams (one of the api's streaming calls) as
   * it grows; then reload the branch as stored.
   */
  async runReply(open, progress = null) {
    const { store } = this;
    const threadId = store.thread.id;
    const reply = new LiveReply(threadId, structuredClone(store.messages), progress);
    const abort = new AbortController();
    store.startReply({ reply, abort });
    this.render();
    let started = false;
    try {
      started = await open({ onEvent: (event) => this.onEvent(reply, event), signal: abort.signal });
    } catch (error) {
      if (error.name !== "AbortError") throw error;
    } finally {
      store.endReply(reply);
      if (!started) clearProgress(threadId);
      if (store.isOpen(threadId) && !abort.signal.aborted) {
        await this.reloadMessages();
        await this.refreshThread();
      }
      this.render();
    }
  }

  onEvent(reply, event) {
    reply.apply(event);
    // A second reply under the same message: a compare run (also one followed after a
    // reload, or started in another tab), shown in columns beside the branch's first.
    if (event.event === "message.created" && reply.beside.has(event.data.message.id)) {
      this.views.compare.include(reply.messages.at(-1));
    }
    this.views.compare.apply(event);
    // A send or a tool round moved the thread's head, a new version of it: keep it so a
    // rename or a branch switch during the reply is not refused as someone else's change.
    if (event.event === "message.created" && event.data.message.role !== "user") {
      this.refreshThread().catch((error) => this.fail(error));
    }
    if (event.event === "error") this.views.errors.show(new api.ApiError("stream", event.data.detail));
    if (event.event === "tool_result" && reply.toolName(event.data.call_id) === "set_thread_title") {
      this.refreshThread().catch((error) => this.fail(error));
    }
    this.render();
  }

  /** After opening a thread: follow a reply still being generated, from where we were.
   * A compare run is followed from its first event instead, so that every column is
   * built again. */
  async resume() {
    const { store } = this;
    const threadId = store.thread.id;
    const saved = loadProgress(threadId);
    const running = store.messages.at(-1)?.status === "in_progress";
    if (!running && !saved) return;
    const progress = saved?.compare ? null : saved;
    if (progress) store.setMessages(restoreProgress(store.messages, progress));
    const after = saved?.compare ? `${saved.eventId.split(":")[0]}:0` : saved?.eventId;
    await this.runReply((listener) => api.followReply(threadId, after, listener), progress);
  }

  /** Follow a reply started elsewhere (another tab) from its first event. */
  async followGeneration(generationId) {
    const threadId = this.store.thread.id;
    await this.runReply((listener) => api.followReply(threadId, `${generationId}:0`, listener));
  }

  async send(content) {
    const { store, views } = this;
    if (!content.trim() || store.busy) return;
    if (!store.thread) await this.createThread();
    views.composer.clear();
    const threadId = store.thread.id;
    const variants = views.compare.variants();
    if (variants) views.compare.start();
    else views.compare.clear();
    try {
      const body = variants ? { content, variants } : { content };
      await this.runReply((listener) => api.sendMessage(threadId, body, listener));
    } catch (error) {
      // A refused send (409 while a reply runs, 413, …) keeps the text for another try.
      views.composer.restore(content);
      throw error;
    }
  }

  async stop() {
    await api.cancelReply(this.store.thread.id);
  }

  /** @param {Message} message @param {string} content */
  async editMessage(message, content) {
    const threadId = this.store.thread.id;
    const write = (version) => api.editMessage(threadId, message.id, content, version);
    await conditional(this.views.conflict, message.version, write, {
      what: `The ${message.role} message`,
      mine: content,
      shown: (current) => current.content,
      refused: () => this.reloadMessages(),
      untouched: (current) => current.content === message.content,
    });
    await this.reloadMessages();
  }

  /** A new sibling of `message` with `content`; a user message also gets a new reply. */
  async branch(message, content) {
    const threadId = this.store.thread.id;
    // A first message branches at the root: "root" asks for a new first message.
    const parent_id = message.parent_id ?? "root";
    if (message.role === "user") {
      await this.runReply((listener) => api.sendMessage(threadId, { content, parent_id }, listener));
    } else {
      await api.addMessage(threadId, { content, role: message.role, parent_id, generate: false });
      await this.reloadMessages();
      // The new message moved the head: the thread's version changed.
      await this.refreshThread();
    }
  }

  /** @param {Message} message */
  async regenerate(message) {
    const threadId = this.store.thread.id;
    await this.runReply((listener) => api.regenerate(threadId, message.id, listener));
  }

  /** Show the request behind a reply under it (`replaying`: with the replay form focused). */
  async showRequest(messageId, replaying) {
    const logged = await api.getMessageRequest(this.store.thread.id, messageId);
    this.views.requests.show(messageId, logged, replaying);
  }

  /** Send a reply's stored request again and stream the answer, a new sibling of the reply. */
  async replay(messageId, body) {
    const threadId = this.store.thread.id;
    this.views.requests.close();
    await this.runReply((listener) => api.replayMessage(threadId, messageId, body, listener));
  }

  /** "Use this one" under a compared reply: it becomes the head, as a sibling switch. */
  async useReply(messageId) {
    await this.switchSibling(messageId);
    if (this.store.thread.head_id === messageId) this.views.compare.chosen(messageId);
  }

  async switchSibling(siblingId) {
    const { store } = this;
    const threadId = store.thread.id;
    const write = (version) => api.setHead(threadId, siblingId, version);
    const seenHead = store.thread.head_id;
    const thread = await conditional(this.views.conflict, store.thread.version, write, {
      what: `The thread “${titleOf(store.thread)}”`,
      mine: "Switch to the other version of this message",
      shown: (current) => `Title: ${titleOf(current)}\nThe conversation shows its active branch as stored now.`,
      refused: async (current) => {
        this.applyThread(current);
        await this.reloadMessages();
      },
      untouched: (current) => current.head_id === seenHead,
    });
    if (thread) this.applyThread(thread);
    await this.reloadMessages();
  }
}
