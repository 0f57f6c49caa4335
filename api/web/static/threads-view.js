// The threads sidebar: newest activity first (the API's order), with inline rename and
// delete, and the search box: while it holds words, the server's matches (messages and
// titles, their matched words marked) replace the list. On narrow screens it slides
// over the conversation.
import { button, byId, delegate, el } from "./dom.js";
import { titleOf } from "./store.js";

/** @typedef {import("./store.js").Thread} Thread */
/** @typedef {import("./store.js").SearchResult} SearchResult */

// Search once typing pauses, not at every key.
const SEARCH_DELAY_MS = 250;

export class ThreadsView {
  constructor() {
    this.panel = byId("sidebar");
    this.newThread = byId("new-thread");
    this.search = byId("thread-search");
    this.list = byId("thread-list");
    this.more = byId("more-threads");
    this.results = byId("search-results");
    /** @type {SearchResult[]} */
    this.shownResults = [];
    this.hasMore = false;
    this.searchTimer = 0;
    /** @type {Thread[]} */
    this.threads = [];
    this.currentId = null;
    /** @type {string|null} the thread whose title is in an input box */
    this.renaming = null;
    byId("open-sidebar").addEventListener("click", () => this.setOpen(true));
    byId("close-sidebar").addEventListener("click", () => this.close());
    delegate(this.list, "click", ".thread-rename", (_, control) => {
      this.renaming = threadIdOf(control);
      this.draw();
    });
    delegate(this.list, "keydown", ".rename-form input", (event) => {
      if (event.key !== "Escape") return;
      this.renaming = null;
      this.draw();
    });
  }

  /**
   * @param {Thread[]} threads
   * @param {string|null} currentId the open thread, highlighted
   * @param {boolean} hasMore whether a "Load more" page follows
   */
  render(threads, currentId, hasMore) {
    this.threads = threads;
    this.currentId = currentId;
    this.hasMore = hasMore;
    this.draw();
    this.more.hidden = !hasMore || this.list.hidden;
  }

  /** The words in the search box, trimmed. */
  query() {
    return this.search.value.trim();
  }

  /**
   * Show the matches of a search instead of the thread list, or the list again.
   * @param {{query: string, results: SearchResult[]}|null} search
   */
  showSearch(search) {
    const searching = search !== null;
    this.list.hidden = searching;
    this.more.hidden = searching || !this.hasMore;
    this.results.hidden = !searching;
    this.shownResults = search?.results ?? [];
    if (!searching) return;
    const items = this.shownResults.map((result, index) => resultItem(result, index));
    if (!items.length) items.push(el("li", "search-none muted", `No matches for “${search.query}”`));
    this.results.replaceChildren(...items);
  }

  /** @param {(query: string) => void} handler called with "" when the box is emptied */
  bindSearch(handler) {
    this.search.addEventListener("input", () => {
      clearTimeout(this.searchTimer);
      this.searchTimer = setTimeout(() => handler(this.query()), SEARCH_DELAY_MS);
    });
  }

  /** @param {(result: SearchResult) => void} handler */
  bindOpenResult(handler) {
    delegate(this.results, "click", ".search-open", (_, control) => {
      handler(this.shownResults[Number(control.dataset.index)]);
    });
  }

  /** On a narrow screen, get out of the way of the conversation. */
  close() {
    this.setOpen(false);
  }

  /** @param {() => void} handler */
  bindCreateThread(handler) {
    this.newThread.addEventListener("click", () => handler());
  }

  /** @param {() => void} handler */
  bindLoadMore(handler) {
    this.more.addEventListener("click", () => handler());
  }

  /** @param {(threadId: string) => void} handler */
  bindSelectThread(handler) {
    delegate(this.list, "click", ".thread-open", (_, control) => handler(threadIdOf(control)));
  }

  /** @param {(threadId: string, title: string|null) => void} handler a blank title clears it */
  bindRenameThread(handler) {
    delegate(this.list, "submit", ".rename-form", (event, form) => {
      event.preventDefault();
      this.renaming = null;
      handler(threadIdOf(form), form.querySelector("input").value.trim() || null);
    });
  }

  /** @param {(threadId: string) => void} handler called once the person confirmed */
  bindDeleteThread(handler) {
    delegate(this.list, "click", ".thread-delete", (_, control) => {
      const thread = this.threads.find((t) => t.id === threadIdOf(control));
      if (confirm(`Delete “${titleOf(thread)}” and all its messages?`)) handler(thread.id);
    });
  }

  setOpen(open) {
    this.panel.classList.toggle("open", open);
  }

  draw() {
    // A title being typed survives the list changing under it (a live feed event).
    const input = this.list.querySelector(".rename-form input");
    const typed = input && { threadId: threadIdOf(input), value: input.value, focused: document.activeElement === input };
    this.list.replaceChildren(...this.threads.map((thread) => this.item(thread, typed)));
  }

  item(thread, typed) {
    const item = el("li", "thread-item");
    item.dataset.threadId = thread.id;
    if (thread.id === this.currentId) item.classList.add("current");
    if (this.renaming === thread.id) {
      item.append(renameForm(thread, typed?.threadId === thread.id ? typed : null));
      return item;
    }
    const open = button(titleOf(thread), "thread-open");
    open.title = `Last activity ${new Date(thread.last_activity_at).toLocaleString()}`;
    const rename = button("✎", "icon thread-rename");
    rename.setAttribute("aria-label", "Rename thread");
    const remove = button("✕", "icon thread-delete");
    remove.setAttribute("aria-label", "Delete thread");
    item.append(open, rename, remove);
    return item;
  }
}

/**
 * A match: its thread's title, where it matched, and the snippet with the matched words
 * in <mark>, built from text nodes (the snippet is user text, never HTML).
 * @param {SearchResult} result
 */
function resultItem(result, index) {
  const item = el("li", "search-result");
  item.dataset.threadId = result.thread_id;
  if (result.message_id) item.dataset.messageId = result.message_id;
  const open = button("", "search-open");
  open.dataset.index = String(index);
  const head = el("span", "search-head");
  head.append(el("span", "search-thread", titleOf({ title: result.thread_title })));
  head.append(el("span", "search-where muted", result.role ?? "title"));
  const snippet = el("span", "search-snippet");
  snippet.append(...result.snippet.map((part) => (part.match ? el("mark", "", part.text) : document.createTextNode(part.text))));
  open.append(head, snippet);
  item.append(open);
  return item;
}

/** The inline rename box: the stored title, selected; or what was `typed` in the box
 * this one replaces, with the caret where it was. */
function renameForm(thread, typed) {
  const form = el("form", "rename-form");
  const input = el("input");
  input.value = typed ? typed.value : thread.title || "";
  input.setAttribute("aria-label", "Thread title");
  form.append(input);
  if (!typed) queueMicrotask(() => input.select());
  else if (typed.focused) queueMicrotask(() => input.focus());
  return form;
}

function threadIdOf(element) {
  return element.closest("li.thread-item").dataset.threadId;
}
