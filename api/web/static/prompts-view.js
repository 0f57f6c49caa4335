// The prompt library part of the settings panel: which prompt and version a thread
// uses, one input per variable of its template, the template editor ("Save as new
// version", "New prompt") and the diff between two versions. It only shows what it is
// given and reports what the person does; prompt-library.js talks to the API.
import { byId, el } from "./dom.js";

// The server's rule for a variable: `{{name}}`, spaces allowed inside the braces.
const VARIABLE = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** A template's variables, each once, in order of first use (as the server lists them). */
export function templateVariables(template) {
  return [...new Set([...template.matchAll(VARIABLE)].map((match) => match[1]))];
}

export class PromptsView {
  constructor() {
    this.prompt = byId("prompt");
    this.version = byId("prompt-version");
    this.variables = byId("prompt-variables");
    this.systemPrompt = byId("system-prompt");
    this.editor = byId("prompt-editor");
    this.template = byId("prompt-template");
    this.note = byId("prompt-note");
    this.name = byId("prompt-name");
    this.status = byId("prompt-status");
    this.diffFrom = byId("prompt-diff-from");
    this.diffTo = byId("prompt-diff-to");
    this.diffOutput = byId("prompt-diff-output");
    byId("prompt-edit").addEventListener("click", () => {
      this.editor.hidden = !this.editor.hidden;
    });
  }

  /** @param {Array<{id: string, name: string}>} prompts */
  setPrompts(prompts) {
    const chosen = this.prompt.value;
    const none = el("option", "", "(none: the system prompt above)");
    none.value = "";
    this.prompt.replaceChildren(
      none,
      ...prompts.map((prompt) => {
        const option = el("option", "", prompt.name);
        option.value = prompt.id;
        return option;
      }),
    );
    this.prompt.value = chosen;
  }

  /** Select `promptId` (or none) and its version ("latest" or a number). */
  select(promptId, version) {
    this.prompt.value = promptId || "";
    this.version.value = String(version ?? "latest");
    this.systemPrompt.disabled = Boolean(promptId);
    this.editor.hidden = true;
    this.setStatus("");
    this.diffOutput.textContent = "";
  }

  /**
   * List the chosen prompt's versions (newest first) in the pickers, keeping `version`.
   * @param {Array<{version: number, note: string|null}>} versions
   */
  setVersions(versions, version) {
    const latest = el("option", "", "latest");
    latest.value = "latest";
    const options = (values) =>
      values.map((item) => {
        const option = el("option", "", item.note ? `v${item.version}: ${item.note}` : `v${item.version}`);
        option.value = String(item.version);
        return option;
      });
    this.version.replaceChildren(latest, ...options(versions));
    this.version.value = String(version ?? "latest");
    this.diffFrom.replaceChildren(...options(versions));
    this.diffTo.replaceChildren(...options(versions));
    if (versions.length > 1) this.diffFrom.value = String(versions[1].version);
    if (versions.length) this.diffTo.value = String(versions[0].version);
  }

  /**
   * One input per variable of `version`'s template: its default as placeholder, the
   * thread's value (or what was typed) as value. Also load the template into the editor.
   */
  showVersion(version, values) {
    const typed = { ...this.variableValues(), ...values };
    this.variables.replaceChildren(
      ...(version ? version.variable_names : []).map((name) => {
        const label = el("label", "prompt-variable");
        const input = el("input");
        input.dataset.name = name;
        input.id = `prompt-var-${name}`;
        input.placeholder = version.variables[name] ?? "(required)";
        input.value = typed[name] ?? "";
        label.append(el("span", "", name), input);
        return label;
      }),
    );
    this.template.value = version ? version.template : "";
    this.defaults = version ? version.variables : {};
  }

  /** The variables filled in: empty ones are left to the version's defaults. */
  variableValues() {
    const values = {};
    for (const input of this.variables.querySelectorAll("input")) {
      if (input.value !== "") values[input.dataset.name] = input.value;
    }
    return values;
  }

  /** What the settings form saves: the prompt, its version and the variables. */
  values() {
    const version = this.version.value;
    return {
      promptId: this.prompt.value || null,
      promptVersion: version === "latest" || version === "" ? "latest" : Number(version),
      promptVariables: this.variableValues(),
    };
  }

  /** The editor's template, its note, the new prompt's name, and the defaults it keeps. */
  draft() {
    const used = new Set(templateVariables(this.template.value));
    const variables = Object.fromEntries(Object.entries(this.defaults || {}).filter(([name]) => used.has(name)));
    return { template: this.template.value, note: this.note.value.trim() || undefined, name: this.name.value.trim(), variables };
  }

  setStatus(text) {
    this.status.textContent = text;
  }

  showDiff(text) {
    this.diffOutput.textContent = text || "(no difference)";
  }

  /** @param {(promptId: string|null) => void} handler */
  bindChoosePrompt(handler) {
    this.prompt.addEventListener("change", () => handler(this.prompt.value || null));
  }

  /** @param {(version: string) => void} handler */
  bindChooseVersion(handler) {
    this.version.addEventListener("change", () => handler(this.version.value));
  }

  /** @param {() => void} handler */
  bindSaveVersion(handler) {
    byId("prompt-save-version").addEventListener("click", handler);
  }

  /** @param {() => void} handler */
  bindNewPrompt(handler) {
    byId("prompt-new").addEventListener("click", handler);
  }

  /** @param {(from: string, to: string) => void} handler */
  bindDiff(handler) {
    byId("prompt-diff").addEventListener("click", () => handler(this.diffFrom.value, this.diffTo.value));
  }
}
