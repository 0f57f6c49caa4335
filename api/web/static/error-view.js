// The red banner under the header. Every failed call ends here, with the server's
// detail, and stays until dismissed or replaced: an error that vanishes by itself is
// easy to miss.
import { byId } from "./dom.js";

export class ErrorView {
  constructor() {
    this.banner = byId("error-banner");
    this.text = byId("error-text");
    byId("error-close").addEventListener("click", () => this.clear());
  }

  /** @param {Error|string} error */
  show(error) {
    this.text.textContent = String(error.message || error);
    this.banner.hidden = false;
  }

  clear() {
    this.banner.hidden = true;
  }
}
