// The URL's hash names the open thread, so a reload or a copied link reopens it.
// Opening a thread replaces the history entry rather than adding one per click.

export class AddressView {
  /** The thread id in the URL, or "" when there is none. */
  threadId() {
    return location.hash.slice(1);
  }

  show(threadId) {
    if (location.hash !== `#${threadId}`) history.replaceState(null, "", `#${threadId}`);
  }

  clear() {
    history.replaceState(null, "", location.pathname);
  }

  /** @param {(threadId: string) => void} handler gets the id typed or navigated to */
  bindThreadIdChange(handler) {
    window.addEventListener("hashchange", () => handler(this.threadId()));
  }
}
