// The message box under the conversation. Enter sends and Shift+Enter starts a new line;
// while a reply streams, the Send button gives way to Stop.
import { byId } from "./dom.js";

export class ComposerView {
  constructor() {
    this.form = byId("composer");
    this.input = byId("composer-input");
    this.send = byId("send");
    this.stop = byId("stop");
    this.input.addEventListener("keydown", (event) => {
      // isComposing: Enter also confirms a word in an input method editor.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
  }

  /** @param {(content: string) => void} handler gets the box's text, blank or not */
  bindSend(handler) {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      handler(this.input.value);
    });
  }

  /** @param {() => void} handler */
  bindStop(handler) {
    this.stop.addEventListener("click", () => handler());
  }

  /** @param {boolean} busy a reply is streaming */
  setBusy(busy) {
    this.send.hidden = busy;
    this.stop.hidden = !busy;
  }

  clear() {
    this.input.value = "";
  }

  /** Put back the text of a refused send, unless something new was typed since. */
  restore(content) {
    if (!this.input.value) this.input.value = content;
  }

  focus() {
    this.input.focus();
  }
}
