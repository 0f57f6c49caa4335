// The active branch as a list of message cards. A card is rebuilt only when what it
// shows changed (compared through a key), so streaming a reply re-renders one card per
// frame and an open edit box elsewhere keeps its text and caret. Which message is being
// edited, and the text typed so far, belong to this view: no one else needs them.
import { byId, delegate } from "./dom.js";
import { messageCard } from "./message-card.js";

/** @typedef {import("./store.js").Message} Message */

export class ConversationView {
  constructor() {
    this.scroller = byId("conversation");
    this.list = byId("messages");
    this.empty = byId("empty-state");
    /** @type {Map<string, {key: string, element: HTMLElement}>} */
    this.cards = new Map();
    /** @type {Map<string, Message>} what the cards show, by message id */
    this.shown = new Map();
    this.messages = [];
    this.busy = false;
    /** @type {{id: string, draft: string}|null} */
    this.editing = null;
    /** @type {string|null} a message to scroll to and mark once it is shown */
    this.revealing = null;
    delegate(this.list, "click", ".edit", (_, control) => this.startEditing(this.messageOf(control)));
    delegate(this.list, "click", ".cancel-edit", () => this.stopEditing());
    delegate(this.list, "input", ".editor textarea", (_, area) => (this.editing.draft = area.value));
    // The edit box is a form only for its semantics: its buttons act, and nothing may
    // submit it and reload the page.
    delegate(this.list, "submit", ".editor", (event) => event.preventDefault());
  }

  /**
   * @param {Message[]} messages the branch, root first
   * @param {boolean} busy a reply is streaming: the buttons that would change the branch are off
   */
  render(messages, busy) {
    this.messages = messages;
    this.busy = busy;
    // Follow a growing reply only while the reader is at the bottom, not after they scrolled up.
    const atBottom = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < 40;
    this.list.replaceChildren(...this.cardsFor(messages, busy));
    if (atBottom) this.scroller.scrollTop = this.scroller.scrollHeight;
    this.empty.hidden = messages.length > 0;
    this.showRevealed();
  }

  /** Scroll to `messageId` and mark it (a search match) once a render shows it. */
  reveal(messageId) {
    this.revealing = messageId;
  }

  showRevealed() {
    const card = this.revealing && this.cards.get(this.revealing);
    if (!card) return;
    this.revealing = null;
    for (const found of this.list.querySelectorAll(".message.found")) found.classList.remove("found");
    card.element.classList.add("found");
    card.element.scrollIntoView({ block: "center" });
  }

  /** Forget an open edit box, for another thread; the next render shows the change. */
  clearEditing() {
    this.editing = null;
  }

  /** @param {(message: Message, content: string) => void} handler */
  bindEdit(handler) {
    this.bindSave(".save-edit", handler);
  }

  /** @param {(message: Message, content: string) => void} handler */
  bindBranch(handler) {
    this.bindSave(".save-branch", handler);
  }

  /** @param {(message: Message) => void} handler */
  bindRegenerate(handler) {
    delegate(this.list, "click", ".regenerate", (_, control) => handler(this.messageOf(control)));
  }

  /** @param {(message: Message) => void} handler */
  bindFork(handler) {
    delegate(this.list, "click", ".fork", (_, control) => handler(this.messageOf(control)));
  }

  /** @param {(siblingId: string) => void} handler */
  bindSwitchSibling(handler) {
    delegate(this.list, "click", ".sibling-prev, .sibling-next", (_, control) => handler(control.dataset.siblingId));
  }

  /** Tool results are shown inside the call that asked for them, not as cards of their own. */
  cardsFor(messages, busy) {
    const results = new Map(messages.filter((m) => m.role === "tool").map((m) => [m.tool_call_id, m]));
    const shownInCalls = new Set();
    for (const message of messages) {
      for (const call of message.tool_calls || []) {
        if (results.has(call.id)) shownInCalls.add(results.get(call.id).id);
      }
    }
    this.shown = new Map();
    const elements = [];
    for (const message of messages) {
      if (shownInCalls.has(message.id)) continue;
      const calls = (message.tool_calls || []).map((call) => ({ call, result: results.get(call.id) }));
      const editing = this.editing?.id === message.id;
      const key = JSON.stringify([message, calls, busy, editing]);
      let card = this.cards.get(message.id);
      if (!card || card.key !== key) {
        card = { key, element: messageCard(message, calls, busy, editing ? this.editing.draft : null) };
        this.cards.set(message.id, card);
        if (editing) queueMicrotask(() => card.element.querySelector("textarea").focus());
      }
      this.shown.set(message.id, message);
      elements.push(card.element);
    }
    for (const id of this.cards.keys()) if (!this.shown.has(id)) this.cards.delete(id);
    return elements;
  }

  messageOf(control) {
    return this.shown.get(control.closest("li.message").dataset.messageId);
  }

  startEditing(message) {
    this.editing = { id: message.id, draft: message.content };
    this.render(this.messages, this.busy);
  }

  stopEditing() {
    this.editing = null;
    this.render(this.messages, this.busy);
  }

  /** Close the edit box first, then hand its text over. */
  bindSave(selector, handler) {
    delegate(this.list, "click", selector, (_, control) => {
      const message = this.messageOf(control);
      const content = this.editing.draft;
      this.stopEditing();
      handler(message, content);
    });
  }
}
