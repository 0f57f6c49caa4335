// Compare: the composer's "Compare" toggle with two to four model/params pickers, and
// the columns where a compare run's replies stream side by side, each with its tokens,
// time to first token and duration, and a "Use this one" button that makes it the head.
import { button, byId, delegate, el } from "./dom.js";

const MIN = 2;
const MAX = 4;

export class CompareView {
  constructor() {
    this.toggle = byId("compare-toggle");
    this.pickers = byId("compare-pickers");
    this.add = byId("compare-add");
    this.panel = byId("compare");
    this.columns = byId("compare-columns");
    /** @type {string[]} */
    this.models = [];
    /** @type {Map<string, HTMLElement>} reply id → its column */
    this.byReply = new Map();
    this.toggle.addEventListener("change", () => this.showPickers());
    this.add.addEventListener("click", () => {
      this.pickers.append(this.picker(this.models[this.pickers.children.length % this.models.length]));
      this.showPickers();
    });
    delegate(this.pickers, "click", ".compare-remove", (_, match) => {
      match.closest(".compare-picker").remove();
      this.showPickers();
    });
  }

  /** @param {Array<{id: string}>} models the catalog; the pickers start on its first two */
  setCatalog(models) {
    this.models = models.map((model) => model.id);
    this.pickers.replaceChildren(...this.models.slice(0, MIN).map((id) => this.picker(id)));
    while (this.pickers.children.length < MIN) this.pickers.append(this.picker(this.models[0]));
    this.showPickers();
  }

  picker(modelId) {
    const row = el("div", "compare-picker");
    const select = el("select", "compare-model");
    select.setAttribute("aria-label", "Model to compare");
    select.append(
      ...this.models.map((id) => {
        const option = el("option", "", id);
        option.value = id;
        return option;
      }),
    );
    select.value = modelId;
    const temperature = el("input", "compare-temperature");
    temperature.type = "number";
    temperature.step = "0.1";
    temperature.placeholder = "temperature";
    temperature.setAttribute("aria-label", "Temperature");
    row.append(select, temperature, button("✕", "icon compare-remove"));
    return row;
  }

  showPickers() {
    const on = this.toggle.checked;
    const count = this.pickers.children.length;
    this.pickers.hidden = !on;
    this.add.hidden = !on || count >= MAX;
    for (const remove of this.pickers.querySelectorAll(".compare-remove")) remove.disabled = count <= MIN;
  }

  /** The `variants` of the next send, or null when Compare is off. */
  variants() {
    if (!this.toggle.checked) return null;
    return [...this.pickers.children].map((row) => {
      const model = row.querySelector(".compare-model").value;
      const temperature = row.querySelector(".compare-temperature").value;
      return temperature === "" ? { model } : { model, params: { temperature: Number(temperature) } };
    });
  }

  /** A run starts: empty columns, filled as its replies are announced. */
  start() {
    this.clear();
    this.panel.hidden = false;
  }

  clear() {
    this.byReply.clear();
    this.columns.replaceChildren();
    this.panel.hidden = true;
  }

  /** Show the columns (if hidden) with one for `reply` and its text so far: a run
   * followed from the middle, whose first reply was announced before it was known to
   * be a compare run. */
  include(reply) {
    this.panel.hidden = false;
    if (this.byReply.has(reply.id)) return;
    this.column(reply).querySelector(".compare-text").textContent = reply.content;
  }

  column(reply) {
    const column = el("article", "compare-column");
    column.dataset.messageId = reply.id;
    column.append(el("h3", "compare-model-name", reply.model), el("div", "compare-text"), el("div", "compare-meta"));
    this.byReply.set(reply.id, column);
    this.columns.append(column);
    return column;
  }

  /** Apply one event of the run's stream to its column. */
  apply({ event, data }) {
    if (this.panel.hidden) return;
    if (event === "message.created" && data.message.role === "assistant") this.column(data.message);
    const column = this.byReply.get(data.message_id ?? data.message?.id);
    if (!column) return;
    if (event === "message.delta") column.querySelector(".compare-text").textContent += data.content;
    if (event === "error") column.querySelector(".compare-meta").textContent = data.detail;
    if (event === "message.completed") this.complete(column, data.message);
  }

  complete(column, message) {
    column.querySelector(".compare-text").textContent = message.content;
    column.classList.add(`status-${message.status}`);
    const meta = column.querySelector(".compare-meta");
    const parts = [message.status];
    if (message.usage?.completion_tokens != null) parts.push(`${message.usage.completion_tokens} tokens`);
    if (message.timings?.time_to_first_token_ms != null) parts.push(`first token ${formatMs(message.timings.time_to_first_token_ms)}`);
    if (message.timings?.duration_ms != null) parts.push(`total ${formatMs(message.timings.duration_ms)}`);
    meta.replaceChildren(el("span", "", parts.join(" · ")), button("Use this one", "compare-use"));
  }

  /** @param {(messageId: string) => void} handler */
  bindUse(handler) {
    delegate(this.columns, "click", ".compare-use", (_, match) => handler(match.closest(".compare-column").dataset.messageId));
  }

  /** Mark the chosen reply's column. */
  chosen(messageId) {
    for (const [id, column] of this.byReply) column.classList.toggle("chosen", id === messageId);
  }
}

function formatMs(ms) {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}
