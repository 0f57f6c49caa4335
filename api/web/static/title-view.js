// The open thread's title, in the heading above the conversation and in the browser tab.
import { byId } from "./dom.js";

export class TitleView {
  constructor() {
    this.heading = byId("thread-title");
  }

  /** @param {string|null} title null while no thread is open */
  show(title) {
    this.heading.textContent = title ?? "Playground";
    document.title = title ? `${title} · Playground` : "Playground";
  }
}
