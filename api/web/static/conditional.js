// Conditional writes: a change sent with `If-Match`, the version the page last saw.
// When someone (another tab, another person) changed the same thing first, the server
// refuses it with a 412 carrying what is stored now; the person then sees both and
// chooses. Nothing is overwritten without asking.
import { ApiError } from "./api.js";

/**
 * @typedef {object} Conflict how to show a refused change
 * @property {string} what what was changed elsewhere, e.g. `The thread “Haiku”`
 * @property {string} mine the person's change, as text
 * @property {(current: any) => string} shown what is stored now, as text
 * @property {(current: any) => any} refused show what is stored now on the page
 * @property {(current: any) => boolean} [untouched] whether what the person changes is
 *   still as they saw it (only something else moved, such as the head after their own
 *   send): then the change goes again with the current version without asking
 */

/**
 * `write(version)`; on a 412, show the conflict and, if the person chooses "apply my
 * change anyway", send it again with the current version (and so on while others keep
 * changing it). Resolves to the write's answer, or undefined when they kept theirs.
 * @param {import("./conflict-view.js").ConflictView} view
 * @param {number} version
 * @param {(version: number) => Promise<any>} write
 * @param {Conflict} conflict
 */
export async function conditional(view, version, write, conflict) {
  const { what, mine, shown, refused, untouched } = conflict;
  for (;;) {
    try {
      return await write(version);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 412)) throw error;
      const { current } = error.extra;
      if (!untouched?.(current)) {
        await refused(current);
        if (!(await view.ask({ what, theirs: shown(current), mine }))) return undefined;
      }
      version = current.version;
    }
  }
}
