// The thread settings panel: system prompt, model, temperature, max tokens and the
// built-in tools. It shows a thread's settings and hands back what the form holds, as
// typed; on screens below 1100px it slides over the conversation.
import { byId, el } from "./dom.js";

/** @typedef {import("./store.js").Thread} Thread */

export class SettingsView {
  /** @param {import("./prompts-view.js").PromptsView} prompts the prompt library's part of the form */
  constructor(prompts) {
    this.prompts = prompts;
    this.panel = byId("settings");
    this.toggle = byId("toggle-settings");
    this.form = byId("settings-form");
    this.fields = {
      systemPrompt: byId("system-prompt"),
      model: byId("model"),
      temperature: byId("temperature"),
      maxTokens: byId("max-tokens"),
      tools: byId("tools"),
      status: byId("settings-status"),
    };
    this.toggle.addEventListener("click", () => this.setOpen(!this.panel.classList.contains("open")));
  }

  /**
   * Fill the pickers, once, from the catalog.
   * @param {Array<{id: string, offline: boolean, description?: string}>} models
   * @param {Array<{name: string, description: string}>} tools
   */
  setCatalog(models, tools) {
    this.fields.model.replaceChildren(
      ...models.map((model) => {
        const option = el("option", "", model.offline ? `${model.id} (offline)` : model.id);
        option.value = model.id;
        option.title = model.description || "";
        return option;
      }),
    );
    this.fields.tools.replaceChildren(
      ...tools.map((tool) => {
        const label = el("label", "tool-option");
        const box = el("input");
        box.type = "checkbox";
        box.value = tool.name;
        box.name = "tool";
        label.title = tool.description;
        label.append(box, el("span", "", tool.name));
        return label;
      }),
    );
  }

  /** @param {Thread} thread */
  show(thread) {
    const { fields } = this;
    fields.systemPrompt.value = thread.system_prompt || "";
    fields.model.value = thread.model;
    fields.temperature.value = thread.params.temperature ?? "";
    fields.maxTokens.value = thread.params.max_tokens ?? "";
    const enabled = new Set(thread.tools.filter((tool) => typeof tool === "string"));
    for (const box of fields.tools.querySelectorAll("input")) box.checked = enabled.has(box.value);
    this.setStatus("");
    // What the form was filled from: a save is a change of this copy (its version).
    this.base = thread;
    this.filled = JSON.stringify(this.values());
  }

  /** Whether the person changed the form since it was last filled. */
  editing() {
    return this.filled !== undefined && JSON.stringify(this.values()) !== this.filled;
  }

  /** "Saving…", "Saved", "Not saved", or nothing. */
  setStatus(text) {
    this.fields.status.textContent = text;
  }

  /** @param {(form: import("./store.js").SettingsForm) => void} handler */
  bindSave(handler) {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      handler(this.values());
    });
  }

  values() {
    const { fields } = this;
    return {
      systemPrompt: fields.systemPrompt.value,
      model: fields.model.value,
      temperature: fields.temperature.value,
      maxTokens: fields.maxTokens.value,
      tools: [...fields.tools.querySelectorAll("input:checked")].map((box) => box.value),
      ...this.prompts.values(),
    };
  }

  setOpen(open) {
    this.panel.classList.toggle("open", open);
    this.toggle.setAttribute("aria-expanded", String(open));
  }
}
