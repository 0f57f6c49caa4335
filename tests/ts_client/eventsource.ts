// Follows a reply with EventSource (the `eventsource` package, a WHATWG-compliant
// client) as a browser would, through a proxy the test cuts mid-reply: the client must
// reconnect by itself, with Last-Event-ID, and assemble the stored text.
//
//   node dist/eventsource.js   with STREAM_URL (…/api/threads/{id}/stream)
//
// Prints `delta <event id>` per text event as it comes (the test cuts after a few),
// then one JSON object: the text per message, the Last-Event-ID each connection sent,
// and how many times the connection failed.
import { EventSource } from "eventsource";

const url = process.env.STREAM_URL;
if (!url) throw new Error("STREAM_URL is required");

const sentLastEventIds: (string | null)[] = [];
const texts: Record<string, string> = {};
const completed: Record<string, string> = {};
let failures = 0;

const source = new EventSource(url, {
  // Only to see what each connection sends; the reconnecting is the library's own.
  fetch: (input, init) => {
    sentLastEventIds.push(new Headers(init?.headers).get("last-event-id"));
    return fetch(input, init);
  },
});
source.addEventListener("error", () => {
  failures += 1;
});
source.addEventListener("message.delta", (event) => {
  const { message_id, content } = JSON.parse(event.data) as { message_id: string; content: string };
  texts[message_id] = (texts[message_id] ?? "") + content;
  console.log(`delta ${event.lastEventId}`);
});
source.addEventListener("message.completed", (event) => {
  const { message } = JSON.parse(event.data) as { message: { id: string; status: string } };
  completed[message.id] = message.status;
});
source.addEventListener("done", () => {
  source.close();
  console.log(JSON.stringify({ texts, completed, sentLastEventIds, failures }));
});
