// Who is signed in, at the foot of the threads sidebar, with the button to sign out.
// Shown only when the server requires a key: with auth off there is no one to name.
import { byId } from "./dom.js";

/** @typedef {import("./store.js").Me} Me */

export class AccountView {
  constructor() {
    this.panel = byId("account");
    this.name = byId("account-name");
    this.role = byId("account-role");
    this.signOut = byId("sign-out");
  }

  /** @param {() => void} handler */
  bindSignOut(handler) {
    this.signOut.addEventListener("click", () => handler());
  }

  /** @param {Me|null} me null once signed out */
  show(me) {
    const named = me?.auth === "required";
    this.panel.hidden = !named;
    this.name.textContent = named ? me.name : "";
    this.role.textContent = named ? me.role : "";
  }
}
