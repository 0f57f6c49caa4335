// Markdown to safe DOM. Two layers: marked is told to print raw HTML blocks and inline
// tags as text (so `<img onerror=…>` written by a person or a model shows literally),
// and its output still goes through DOMPurify before it touches the page.
import { Marked } from "./vendor/marked.esm.js";
import DOMPurify from "./vendor/purify.es.mjs";

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]);
}

const marked = new Marked({
  gfm: true,
  breaks: true,
  renderer: {
    html(token) {
      return escapeHtml(token.text);
    },
  },
});

/** Replace the children of `element` with `text` rendered as sanitized Markdown. */
export function renderMarkdown(element, text) {
  const html = marked.parse(text);
  element.replaceChildren(DOMPurify.sanitize(html, { RETURN_DOM_FRAGMENT: true }));
}
