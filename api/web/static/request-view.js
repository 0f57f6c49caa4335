// The request behind a reply, under its card: each model call of the run that wrote it as
// the model server got it (one collapsible <details> per call, the JSON of the request and
// what came back), and "Replay with…": that request sent again, to the model and with the
// temperature picked here, streamed as a new sibling. Cards are rebuilt as the branch
// changes, so this view keeps its open panel and puts it back under its card after each
// render (`attach`).
import { byId, delegate, el } from "./dom.js";

/**
 * @typedef {object} ModelCall
 * @property {string} message_id the reply row the call wrote
 * @property {Record<string, any>} request the body as sent
 * @property {{id: string|null, model: string|null, system_fingerprint: string|null, finish_reason: string|null}} response
 */

export class RequestView {
  constructor() {
    this.list = byId("messages");
    /** @type {Array<{id: string, offline: boolean}>} */
    this.models = [];
    /** @type {{messageId: string, panel: HTMLElement}|null} */
    this.open = null;
  }

  /** @param {Array<{id: string, offline: boolean}>} models the catalog, for the replay picker */
  setModels(models) {
    this.models = models;
  }

  /**
   * "Request" shows (or hides) the panel of a reply, "Replay with…" shows it with the
   * replay form focused; the handler loads what to show.
   * @param {(messageId: string, replaying: boolean) => void} handler
   */
  bindShow(handler) {
    delegate(this.list, "click", ".show-request, .replay-with", (_, control) => {
      const messageId = control.closest("li.message").dataset.messageId;
      const replaying = control.classList.contains("replay-with");
      if (!replaying && this.open?.messageId === messageId) this.close();
      else handler(messageId, replaying);
    });
  }

  /** @param {(messageId: string, body: {model: string, params?: {temperature: number}}) => void} handler */
  bindReplay(handler) {
    delegate(this.list, "submit", ".replay-form", (event, form) => {
      event.preventDefault();
      const temperature = form.elements.temperature.value;
      const body = { model: form.elements.model.value };
      if (temperature !== "") body.params = { temperature: Number(temperature) };
      handler(this.open.messageId, body);
    });
  }

  /**
   * Show the calls behind `messageId` under its card.
   * @param {string} messageId
   * @param {{rounds: ModelCall[]}} logged the answer of GET …/messages/{id}/request
   * @param {boolean} replaying focus the replay form
   */
  show(messageId, logged, replaying) {
    this.open = { messageId, panel: this.panel(messageId, logged.rounds) };
    this.attach(false);
    if (replaying) this.open.panel.querySelector(".replay-form select").focus();
  }

  close() {
    this.open?.panel.remove();
    this.open = null;
  }

  /**
   * After a render: put the panel back under its card, or forget it when the card is gone.
   * @param {boolean} busy a reply is streaming: no replay meanwhile
   */
  attach(busy) {
    if (!this.open) return;
    const card = [...this.list.children].find((item) => item.dataset.messageId === this.open.messageId);
    if (!card) {
      this.close();
      return;
    }
    if (this.open.panel.parentElement !== card) card.append(this.open.panel);
    this.open.panel.querySelector(".replay").disabled = busy;
  }

  /** @param {string} messageId @param {ModelCall[]} rounds */
  panel(messageId, rounds) {
    const panel = el("div", "request-panel");
    rounds.forEach((call, index) => {
      const own = call.message_id === messageId;
      const round = el("details", own ? "request-round own" : "request-round");
      round.open = own;
      const { request, response } = call;
      const parts = [`Call ${index + 1} of ${rounds.length}${own ? " (this reply)" : ""}`, request.model];
      parts.push(`${request.messages.length} messages`, `finish: ${response.finish_reason ?? "none"}`);
      if (response.system_fingerprint) parts.push(response.system_fingerprint);
      round.append(el("summary", "", parts.join(" · ")));
      round.append(el("pre", "request-json", JSON.stringify(request, null, 2)));
      round.append(el("pre", "response-json", JSON.stringify(response, null, 2)));
      panel.append(round);
    });
    const own = rounds.find((call) => call.message_id === messageId) ?? rounds.at(-1);
    panel.append(this.replayForm(own.request));
    return panel;
  }

  /** The model (the request's by default) and temperature to send the request again with. */
  replayForm(request) {
    const form = el("form", "replay-form");
    const model = el("select");
    model.name = "model";
    model.setAttribute("aria-label", "Replay with model");
    for (const { id, offline } of this.models) {
      const option = el("option", "", offline ? `${id} (offline)` : id);
      option.value = id;
      model.append(option);
    }
    model.value = request.model;
    const temperature = el("input");
    Object.assign(temperature, { name: "temperature", type: "number", min: "0", max: "2", step: "0.1" });
    temperature.value = request.temperature ?? "";
    temperature.placeholder = "default";
    temperature.setAttribute("aria-label", "Replay with temperature");
    const submit = el("button", "replay", "Replay");
    submit.type = "submit";
    form.append(el("span", "", "Replay with"), model, el("span", "", "temperature"), temperature, submit);
    return form;
  }
}
