// The notice shown when a change was refused because someone (another tab, another
// person) changed the same thing first (a 412): what is stored now, beside the change
// the person made, and their choice — apply it anyway on top, or keep theirs.
import { byId } from "./dom.js";

export class ConflictView {
  constructor() {
    this.notice = byId("conflict");
    this.text = byId("conflict-text");
    this.theirs = byId("conflict-theirs");
    this.mine = byId("conflict-mine");
    this.apply = byId("conflict-apply");
    this.keep = byId("conflict-keep");
    this.answer = null;
    this.apply.addEventListener("click", () => this.close(true));
    this.keep.addEventListener("click", () => this.close(false));
  }

  /**
   * Show the conflict; resolves to true for "apply my change anyway", false for "keep
   * theirs". A newer conflict replaces one still open, which counts as kept.
   * @param {{what: string, theirs: string, mine: string}} conflict
   */
  ask({ what, theirs, mine }) {
    this.close(false);
    this.text.textContent = `${what} was changed elsewhere since this page read it.`;
    this.theirs.textContent = theirs;
    this.mine.textContent = mine;
    this.notice.hidden = false;
    return new Promise((resolve) => (this.answer = resolve));
  }

  close(apply) {
    this.notice.hidden = true;
    const answer = this.answer;
    this.answer = null;
    answer?.(apply);
  }
}
