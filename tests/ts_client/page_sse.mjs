// The served page's own stream code (api/web/static/sse.js and live.js), unchanged,
// against a live server: a send's POST stream dropped mid-reply, then resumed as the
// page does after a reload (GET …/stream?last_event_id=, on top of the saved text);
// then the whole stream fed to the parser cut at every byte boundary.
//
//   node page_sse.mjs   with BASE_URL, THREAD_ID, CONTENT, CUT_AFTER (text events)
//
// Prints one JSON object: the branch the page shows after resuming, and the problems
// the byte-boundary check found (none expected).
import { readFile } from "node:fs/promises";

const STATIC = new URL("../../api/web/static/", import.meta.url);
const { BASE_URL, THREAD_ID, CONTENT, CUT_AFTER } = process.env;

/** The page's module as the browser loads it (neither imports anything). */
async function pageModule(name) {
  const source = await readFile(new URL(name, STATIC));
  return import(`data:text/javascript;base64,${source.toString("base64")}`);
}

// What the page keeps across a reload.
const stored = new Map();
globalThis.sessionStorage = {
  getItem: (key) => stored.get(key) ?? null,
  setItem: (key, value) => stored.set(key, String(value)),
  removeItem: (key) => stored.delete(key),
};

const { readEvents } = await pageModule("sse.js");
const { LiveReply, loadProgress, restoreProgress } = await pageModule("live.js");

const threadUrl = `${BASE_URL}/api/threads/${THREAD_ID}`;
const parsed = (frame) => ({ ...frame, data: frame.data ? JSON.parse(frame.data) : {} });

async function messages() {
  const response = await fetch(`${threadUrl}/messages`);
  return (await response.json()).data;
}

// 1. Send; the connection drops after a few text events (the reply goes on).
const dropped = new AbortController();
let deltas = 0;
const first = new LiveReply(THREAD_ID, await messages(), null);
try {
  const response = await fetch(`${threadUrl}/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ content: CONTENT }),
    signal: dropped.signal,
  });
  await readEvents(response.body, (frame) => {
    first.apply(parsed(frame));
    if (frame.event === "message.delta" && ++deltas === Number(CUT_AFTER)) dropped.abort();
  });
} catch (error) {
  if (error.name !== "AbortError") throw error;
}

// 2. What the page does on load: the saved progress over the stored branch, then the
// events after the saved id.
const progress = loadProgress(THREAD_ID);
const resumed = new LiveReply(THREAD_ID, restoreProgress(await messages(), progress), progress);
const follow = await fetch(
  `${threadUrl}/stream?last_event_id=${encodeURIComponent(progress.eventId)}`,
  { headers: { accept: "text/event-stream" } },
);
await readEvents(follow.body, (frame) => resumed.apply(parsed(frame)));

// 3. The whole generation's stream again, as bytes, parsed whole and cut in two at every
// byte (inside multi-byte characters too), and one byte at a time.
const generationId = progress.eventId.split(":")[0];
const whole = new Uint8Array(
  await (await fetch(`${threadUrl}/stream?last_event_id=${generationId}:0`)).arrayBuffer(),
);
async function parse(chunks) {
  const frames = [];
  const body = new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  await readEvents(body, (frame) => frames.push(frame));
  return JSON.stringify(frames);
}
const reference = await parse([whole]);
const problems = [];
for (let cut = 1; cut < whole.length; cut++) {
  if ((await parse([whole.subarray(0, cut), whole.subarray(cut)])) !== reference) problems.push(cut);
}
const bytes = Array.from(whole, (_, i) => whole.subarray(i, i + 1));
if ((await parse(bytes)) !== reference) problems.push("one byte at a time");

console.log(
  JSON.stringify({
    cutAt: progress.eventId,
    deltasBeforeCut: deltas,
    sawDone: resumed.sawDone,
    branch: resumed.messages.map(({ id, role, content, status }) => ({ id, role, content, status })),
    streamBytes: whole.length,
    frames: JSON.parse(reference).length,
    replayed: JSON.parse(reference).map((frame) => frame.event),
    problems,
  }),
);
