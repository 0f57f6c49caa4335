// Drives the API's AI SDK endpoints with the real `ai` package, as a useChat page does:
// an AbstractChat (what @ai-sdk/react's useChat wraps) over DefaultChatTransport.
//
//   node chat.mjs <scenario>   with BASE_URL, THREAD_ID, API_KEY (optional),
//                              RESUME_BASE_URL (resume: the process to reconnect to)
//
// Prints one JSON object: the chat's messages and what the scenario observed.
import {
  AbstractChat,
  DefaultChatTransport,
  lastAssistantMessageIsCompleteWithToolCalls,
} from "ai";

const { BASE_URL, THREAD_ID, API_KEY, RESUME_BASE_URL } = process.env;
const scenario = process.argv[2];

/** The state a UI framework would hold; here plain arrays. */
class PlainState {
  constructor() {
    this.status = "ready";
    this.error = undefined;
    this.messages = [];
  }
  pushMessage(message) {
    this.messages = [...this.messages, message];
  }
  popMessage() {
    this.messages = this.messages.slice(0, -1);
  }
  replaceMessage(index, message) {
    this.messages = this.messages.map((m, i) => (i === index ? message : m));
  }
  snapshot(thing) {
    return structuredClone(thing);
  }
}

class Chat extends AbstractChat {
  constructor(init) {
    super({ ...init, state: new PlainState() });
  }
}

/** The transport a front-end configures: the thread's chat URL, the key, and where
 * `resumeStream` reconnects (`reconnectBase`: any process of the service). */
function transport({ fetch, reconnectBase = BASE_URL } = {}) {
  const api = `${BASE_URL}/api/threads/${THREAD_ID}/chat`;
  return new DefaultChatTransport({
    api,
    headers: API_KEY ? { Authorization: `Bearer ${API_KEY}` } : {},
    fetch,
    prepareReconnectToStreamRequest: ({ headers }) => ({
      api: `${reconnectBase}/api/threads/${THREAD_ID}/chat/stream`,
      headers,
    }),
  });
}

/** A fetch whose POST response body fails like a dropped connection once the first
 * text arrived (the server keeps generating); the reconnect's GET is left alone. */
function droppingFetch() {
  return async (url, init) => {
    const response = await fetch(url, init);
    if (init.method !== "POST") return response;
    const reader = response.body.getReader();
    let seen = "";
    const body = new ReadableStream({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        seen += new TextDecoder().decode(value);
        controller.enqueue(value);
        if (seen.includes('"text-delta"')) {
          await reader.cancel();
          controller.error(new TypeError("network error: connection dropped"));
        }
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

const errors = [];
const toolCalls = [];
const finishes = [];
const options = {
  id: THREAD_ID,
  onError: (error) => errors.push(String(error.message ?? error)),
  onFinish: ({ message, finishReason, isDisconnect }) =>
    finishes.push({ id: message.id, finishReason, isDisconnect }),
};
const out = {};

switch (scenario) {
  case "send": {
    const chat = new Chat({ ...options, transport: transport() });
    await chat.sendMessage({ text: "Write about autumn" });
    out.status = chat.status;
    out.messages = chat.messages;
    break;
  }
  case "regenerate": {
    const chat = new Chat({ ...options, transport: transport() });
    await chat.sendMessage({ text: "Write about spring" });
    out.first = chat.messages.at(-1);
    await chat.regenerate();
    out.status = chat.status;
    out.messages = chat.messages;
    break;
  }
  case "resume": {
    const chat = new Chat({ ...options, transport: transport({ fetch: droppingFetch(), reconnectBase: RESUME_BASE_URL }) });
    await chat.sendMessage({ text: "Write a long story about the sea" });
    out.dropped = { status: chat.status, text: textOf(chat.messages.at(-1)) };
    await chat.resumeStream();
    out.status = chat.status;
    out.messages = chat.messages;
    break;
  }
  case "tools": {
    const chat = new Chat({ ...options, transport: transport() });
    await chat.sendMessage({ text: "What time is it in Europe/Paris? [[bad-args]]" });
    out.status = chat.status;
    out.messages = chat.messages;
    break;
  }
  case "client-tool": {
    const chat = new Chat({
      ...options,
      transport: transport(),
      sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithToolCalls,
      onToolCall: ({ toolCall }) => {
        toolCalls.push(toolCall);
        // Not awaited, as the AI SDK advises inside onToolCall.
        chat.addToolResult({
          tool: toolCall.toolName,
          toolCallId: toolCall.toolCallId,
          output: { city: toolCall.input.city, forecast: "sunny", celsius: 21 },
        });
      },
    });
    await chat.sendMessage({ text: "Use get_weather for Paris" });
    out.status = chat.status;
    out.messages = chat.messages;
    break;
  }
  case "nothing-to-resume": {
    const chat = new Chat({ ...options, transport: transport() });
    await chat.resumeStream();
    out.status = chat.status;
    out.messages = chat.messages;
    break;
  }
  default:
    throw new Error(`unknown scenario ${scenario}`);
}

function textOf(message) {
  return (message?.parts ?? [])
    .filter((part) => part.type === "text")
    .map((part) => part.text)
    .join("");
}

console.log(JSON.stringify({ ...out, errors, toolCalls, finishes }));
