// The threads sidebar: newest activity first (the API's order), filtered by the search
// box, with inline rename and delete. On narrow screens it slides over the conversation.
import { button, byId, delegate, el } from "./dom.js";
import { titleOf } from "./store.js";

/** @typedef {import("./store.js").Thread} Thread */

export class ThreadsView {
  constructor() {
    this.panel = byId("sidebar");
    this.newThread = byId("new-thread");
    this.search = byId("thread-search");
    this.list = byId("thread-list");
    this.more = byId("more-threads");
    /** @type {Thread[]} */
    this.threads = [];
    this.currentId = null;
    /** @type {string|null} the thread whose title is in an input box */
    this.renaming = null;
    this.search.addEventListener("input", () => this.draw());
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
    this.draw();
    this.more.hidden = !hasMore;
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
    const query = this.search.value.trim().toLowerCase();
    const shown = this.threads.filter((thread) => titleOf(thread).toLowerCase().includes(query));
    this.list.replaceChildren(...shown.map((thread) => this.item(thread)));
  }

  item(thread) {
    const item = el("li", "thread-item");
    item.dataset.threadId = thread.id;
    if (thread.id === this.currentId) item.classList.add("current");
    if (this.renaming === thread.id) {
      item.append(renameForm(thread));
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

function renameForm(thread) {
  const form = el("form", "rename-form");
  const input = el("input");
  input.value = thread.title || "";
  input.setAttribute("aria-label", "Thread title");
  form.append(input);
  queueMicrotask(() => input.select());
  return form;
}

function threadIdOf(element) {
  return element.closest("li.thread-item").dataset.threadId;
}
