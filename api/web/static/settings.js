// The thread settings panel: system prompt, model (from /api/models), temperature,
// max tokens and the built-in tools (from /api/tools), saved with one PATCH.
import { el } from "./dom.js";
import { threadChanges } from "./store.js";

export class SettingsForm {
  constructor(form, save) {
    this.form = form;
    this.fields = {
      systemPrompt: form.querySelector("#system-prompt"),
      model: form.querySelector("#model"),
      temperature: form.querySelector("#temperature"),
      maxTokens: form.querySelector("#max-tokens"),
      tools: form.querySelector("#tools"),
      status: form.querySelector("#settings-status"),
    };
    this.thread = null;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (this.thread) save(this.thread.id, threadChanges(this.thread, this.values()));
    });
  }

  /** Fill the pickers once from the catalog of models and tools. */
  setCatalog(models, tools) {
    this.fields.model.replaceChildren(
      ...models.data.map((model) => {
        const option = el("option", "", model.offline ? `${model.id} (offline)` : model.id);
        option.value = model.id;
        option.title = model.description || "";
        return option;
      }),
    );
    this.fields.tools.replaceChildren(
      ...tools.data.map((tool) => {
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

  show(thread) {
    this.thread = thread;
    const { fields } = this;
    fields.systemPrompt.value = thread.system_prompt || "";
    fields.model.value = thread.model;
    fields.temperature.value = thread.params.temperature ?? "";
    fields.maxTokens.value = thread.params.max_tokens ?? "";
    const enabled = new Set(thread.tools.filter((tool) => typeof tool === "string"));
    for (const box of fields.tools.querySelectorAll("input")) box.checked = enabled.has(box.value);
    this.setStatus("");
  }

  /** What the form holds, as typed. */
  values() {
    const { fields } = this;
    return {
      systemPrompt: fields.systemPrompt.value,
      model: fields.model.value,
      temperature: fields.temperature.value,
      maxTokens: fields.maxTokens.value,
      tools: [...fields.tools.querySelectorAll("input:checked")].map((box) => box.value),
    };
  }

  setStatus(text) {
    this.fields.status.textContent = text;
  }
}
