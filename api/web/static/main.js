// The page's entry point: a store, one view per part of the page, and the controller
// that wires them together.
import { AccountView } from "./account-view.js";
import { AddressView } from "./address-view.js";
import { CompareView } from "./compare-view.js";
import { ConflictView } from "./conflict-view.js";
import { ComposerView } from "./composer-view.js";
import { Controller } from "./controller.js";
import { ConversationView } from "./conversation-view.js";
import { ErrorView } from "./error-view.js";
import { LoginView } from "./login-view.js";
import { RequestView } from "./request-view.js";
import { PromptsView } from "./prompts-view.js";
import { SettingsView } from "./settings-view.js";
import { Store } from "./store.js";
import { ThreadsView } from "./threads-view.js";
import { TitleView } from "./title-view.js";

const prompts = new PromptsView();
const controller = new Controller(new Store(), {
  account: new AccountView(),
  address: new AddressView(),
  compare: new CompareView(),
  conflict: new ConflictView(),
  composer: new ComposerView(),
  conversation: new ConversationView(),
  errors: new ErrorView(),
  login: new LoginView(),
  requests: new RequestView(),
  prompts,
  settings: new SettingsView(prompts),
  threads: new ThreadsView(),
  title: new TitleView(),
});
controller.start();
