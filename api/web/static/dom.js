// Small DOM helpers shared by the views. Text always goes in through textContent, never
// innerHTML: Markdown is the one way HTML reaches the page, and it is sanitized.

/** The element with this id; the page's skeleton is static, so it is always there. */
export function byId(id) {
  return document.getElementById(id);
}

/** A new `tag` element with an optional class list and text. */
export function el(tag, className = "", text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

/** A `type="button"` button, so that a button inside a form never submits it. */
export function button(label, className) {
  const element = el("button", className, label);
  element.type = "button";
  return element;
}

/**
 * Call `handler(event, match)` for `type` events inside `root` whose target is or sits
 * in an element matching `selector`. Lists rebuilt at every render keep one listener
 * this way, and the elements they build stay plain templates.
 * @param {(event: Event, match: Element) => void} handler
 */
export function delegate(root, type, selector, handler) {
  root.addEventListener(type, (event) => {
    const match = event.target.closest(selector);
    if (match && root.contains(match)) handler(event, match);
  });
}
