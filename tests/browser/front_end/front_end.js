// A minimal single-page front-end talking to the playground API on another origin:
// it creates a thread, sends a message and shows the streamed reply, sending its key
// in Authorization on every request, as a team's front-end would.

const $ = (id) => document.getElementById(id);

// Split an SSE body into events ({event, data}), per the SSE rules for line breaks
// (\r\n, \r or \n) and blank-line boundaries.
async function* sseEvents(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = "";
  let event = { event: "message", data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    pending += value;
    // A trailing \r may be the first half of \r\n: keep it until the next chunk.
    const cut = pending.endsWith("\r") ? pending.length - 1 : pending.length;
    const lines = pending.slice(0, cut).split(/\r\n|\r|\n/);
    pending = lines.pop() + pending.slice(cut);
    for (const line of lines) {
      if (line === "") {
        if (event.data.length) yield { event: event.event, data: JSON.parse(event.data.join("\n")) };
        event = { event: "message", data: [] };
      } else if (line.startsWith("event:")) {
        event.event = line.slice(6).trim();
      } else if (line.startsWith("data:")) {
        event.data.push(line.slice(5).replace(/^ /, ""));
      }
    }
  }
}

async function call(api, key, method, path, body, extraHeaders = {}) {
  const response = await fetch(`${api}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${key}`,
      "Content-Type": "application/json",
      ...extraHeaders,
    },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status}`);
  return response;
}

// Create a thread titled `title`, send `content`, show the reply as it streams in.
// Never rejects: the outcome is on the page (#status, #error).
window.talk = async ({ api, key, title, content }) => {
  $("status").textContent = "working";
  try {
    const created = await call(api, key, "POST", "/api/threads", { title });
    const thread = await created.json();
    $("thread-id").textContent = thread.id;
    // Readable only because the API exposes it to other origins, as the If-Match to send.
    $("etag").textContent = created.headers.get("ETag") ?? "";
    const response = await call(
      api, key, "POST", `/api/threads/${thread.id}/messages`, { content },
      { "Idempotency-Key": crypto.randomUUID() },
    );
    // Readable only because the API exposes it to other origins.
    $("request-id").textContent = response.headers.get("X-Request-ID") ?? "";
    for await (const { event, data } of sseEvents(response.body)) {
      if (event === "message.delta") $("reply").textContent += data.content;
      if (event === "done") $("status").textContent = "done";
    }
  } catch (error) {
    $("error").textContent = `${error.name}: ${error.message}`;
    $("status").textContent = "failed";
  }
};
