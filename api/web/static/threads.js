// The threads sidebar: newest activity first (the API's order), filtered by a search
// box, with inline rename and delete.
import { button, el } from "./dom.js";
import { titleOf } from "./store.js";

export class ThreadList {
  /** `actions`: {select(id), rename(id, title), remove(id)}. */
  constructor(list, search, actions) {
    this.list = list;
    this.search = search;
    this.actions = actions;
    this.threads = [];
    this.currentId = null;
    this.renaming = null;
    search.addEventListener("input", () => this.render());
  }

  show(threads, currentId) {
    this.threads = threads;
    this.currentId = currentId;
    this.render();
  }

  render() {
    const query = this.search.value.trim().toLowerCase();
    const shown = this.threads.filter((thread) => titleOf(thread).toLowerCase().includes(query));
    this.list.replaceChildren(...shown.map((thread) => this.item(thread)));
  }

  item(thread) {
    const item = el("li", "thread-item");
    item.dataset.threadId = thread.id;
    if (thread.id === this.currentId) item.classList.add("current");
    if (this.renaming === thread.id) {
      item.append(this.renameForm(thread));
      return item;
    }
    const open = button(titleOf(thread), "thread-open", () => this.actions.select(thread.id));
    open.title = `Last activity ${new Date(thread.last_activity_at).toLocaleString()}`;
    const rename = button("✎", "icon thread-rename", () => {
      this.renaming = thread.id;
      this.render();
    });
    rename.setAttribute("aria-label", "Rename thread");
    const remove = button("✕", "icon thread-delete", () => {
      if (confirm(`Delete “${titleOf(thread)}” and all its messages?`)) this.actions.remove(thread.id);
    });
    remove.setAttribute("aria-label", "Delete thread");
    item.append(open, rename, remove);
    return item;
  }

  renameForm(thread) {
    const form = el("form", "rename-form");
    const input = el("input");
    input.value = thread.title || "";
    input.setAttribute("aria-label", "Thread title");
    form.append(input);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.renaming = null;
      this.actions.rename(thread.id, input.value.trim() || null);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        this.renaming = null;
        this.render();
      }
    });
    queueMicrotask(() => input.select());
    return form;
  }
}
