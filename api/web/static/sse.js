// A minimal Server-Sent Events parser for fetch() bodies (EventSource only does GET).
// It follows the WHATWG event-stream rules the API relies on: `event:`, `id:` and
// `data:` fields, comments starting with ":", and a blank line ending each event.

/** Read `body` (a ReadableStream of bytes) and call `onFrame({event, id, data})`. */
export async function readEvents(body, onFrame) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let frame = newFrame();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    // A line ends with \n, \r\n or \r; keep the unterminated tail for the next chunk
    // (a lone trailing \r may still be followed by \n, so it waits too).
    const lines = buffer.split(/\r\n|\n|\r(?!$)/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === "") {
        if (frame.hasData) onFrame({ event: frame.event, id: frame.id, data: frame.data });
        frame = newFrame();
      } else if (!line.startsWith(":")) {
        applyField(frame, line);
      }
    }
  }
}

function newFrame() {
  return { event: "message", id: "", data: "", hasData: false };
}

function applyField(frame, line) {
  const colon = line.indexOf(":");
  const name = colon === -1 ? line : line.slice(0, colon);
  let value = colon === -1 ? "" : line.slice(colon + 1);
  if (value.startsWith(" ")) value = value.slice(1);
  if (name === "event") frame.event = value;
  else if (name === "id") frame.id = value;
  else if (name === "data") {
    frame.data = frame.hasData ? `${frame.data}\n${value}` : value;
    frame.hasData = true;
  }
}
