// Drives the prompt library part of the settings panel: lists the caller's prompts,
// loads the versions of the one chosen, saves a new version or a new prompt, and asks
// for diffs. The thread's choice itself is saved with the settings (store.js
// threadChanges).
import * as api from "./api.js";

export class PromptLibrary {
  /**
   * @param {import("./prompts-view.js").PromptsView} view
   * @param {(action: Function) => Function} guarded reports an action's failure
   */
  constructor(view, guarded) {
    this.view = view;
    /** @type {Array<object>} the chosen prompt's versions, newest first */
    this.versions = [];
    this.promptId = null;
    view.bindChoosePrompt(guarded((promptId) => this.choose(promptId, "latest", {})));
    view.bindChooseVersion(guarded((version) => this.view.showVersion(this.versionOf(version), {})));
    view.bindSaveVersion(guarded(() => this.saveVersion()));
    view.bindNewPrompt(guarded(() => this.newPrompt()));
    view.bindDiff(guarded((from, to) => this.diff(from, to)));
  }

  /** Fill the prompt picker. */
  async load() {
    this.view.setPrompts((await api.listPrompts()).data);
  }

  /** Show a thread's prompt settings. @param {import("./store.js").Thread} thread */
  async show(thread) {
    await this.choose(thread.prompt_id, thread.prompt_version, thread.prompt_variables || {});
  }

  /** Choose a prompt (or none) and a version, with the variables' values. */
  async choose(promptId, version, values) {
    this.promptId = promptId;
    this.view.select(promptId, version);
    this.versions = promptId ? (await api.listPromptVersions(promptId)).data : [];
    if (this.promptId !== promptId) return; // another choice came meanwhile
    this.view.setVersions(this.versions, version);
    this.view.showVersion(this.versionOf(String(version ?? "latest")), values);
  }

  versionOf(version) {
    if (version === "latest") return this.versions[0];
    return this.versions.find((item) => String(item.version) === String(version));
  }

  async saveVersion() {
    if (!this.promptId) {
      this.view.setStatus("Choose a prompt first, or save this as a new prompt");
      return;
    }
    const { template, note, variables } = this.view.draft();
    const saved = await api.createPromptVersion(this.promptId, { template, note, variables });
    const values = this.view.variableValues();
    const keep = this.view.values().promptVersion;
    this.versions = (await api.listPromptVersions(this.promptId)).data;
    this.view.setVersions(this.versions, keep);
    this.view.showVersion(this.versionOf(String(keep)), values);
    this.view.setStatus(`Saved as v${saved.version}`);
  }

  async newPrompt() {
    const { template, name, variables } = this.view.draft();
    const created = await api.createPrompt({ name, template, variables });
    await this.load();
    await this.choose(created.id, "latest", {});
    this.view.setStatus(`Created ${created.name}`);
  }

  async diff(from, to) {
    if (!this.promptId || !from || !to) return;
    this.view.showDiff((await api.diffPromptVersions(this.promptId, from, to)).diff);
  }
}
