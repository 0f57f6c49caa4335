// The sign-in form, shown instead of the playground when the server requires an API key
// and this tab has none, or the one it had was refused. The typed key goes to the
// handler and the input is emptied; the view never keeps or shows it.
import { byId } from "./dom.js";

export class LoginView {
  constructor() {
    this.playground = byId("app");
    this.screen = byId("login");
    this.form = byId("login-form");
    this.input = byId("api-key");
    this.error = byId("login-error");
  }

  /** @param {(key: string) => void} handler gets the key typed, trimmed and not blank */
  bindSignIn(handler) {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const key = this.input.value.trim();
      this.input.value = "";
      if (key) handler(key);
    });
  }

  /** Hide the playground and ask for a key. */
  show() {
    this.playground.hidden = true;
    this.screen.hidden = false;
    this.input.focus();
  }

  /** Back to the playground. */
  hide() {
    this.screen.hidden = true;
    this.playground.hidden = false;
    this.clearError();
  }

  /** @param {string} detail why the key was refused, as the server said */
  showError(detail) {
    this.error.textContent = detail;
    this.error.hidden = false;
  }

  clearError() {
    this.error.hidden = true;
  }
}
