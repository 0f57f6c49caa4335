// A client generated from the live server's /schema/openapi.json (openapi-typescript,
// into generated/schema.d.ts) used through openapi-fetch, as a front-end would: it must
// type-check with `tsc --strict`, then run against the server.
//
//   node dist/client.js   with BASE_URL
//
// Prints one JSON object: what each call answered.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Thread = components["schemas"]["Thread"];
type Message = components["schemas"]["Message"];
type ErrorBody = components["schemas"]["ErrorBody"];
type ThreadCreate = components["schemas"]["ThreadCreate"];

// Only the JSON answers: a send with `stream: false` answers JSON, not the event stream.
const client = createClient<paths, "application/json">({ baseUrl: process.env.BASE_URL });

function ok<T>(answer: { data?: T; error?: unknown; response: Response }): T {
  if (answer.data === undefined) {
    throw new Error(`${answer.response.status}: ${JSON.stringify(answer.error)}`);
  }
  return answer.data;
}

async function main(): Promise<void> {
  const thread: Thread = ok(
    await client.POST("/api/threads", {
      body: { title: "Typed client", system_prompt: "Answer briefly.", tools: [] },
    }),
  );
  const threadPath = { thread_id: thread.id };

  const sent = ok(
    await client.POST("/api/threads/{thread_id}/messages", {
      params: { path: threadPath },
      body: { content: "Write about autumn", stream: false },
    }),
  );
  // 200 (SendResult: generated) or 201 (Message: stored only): tell them apart by shape.
  if (!("assistant_message" in sent)) throw new Error("expected the finished exchange");
  const reply: Message = sent.assistant_message;

  const listed = ok(await client.GET("/api/threads", { params: { query: { limit: 100 } } }));
  const edited: Message = ok(
    await client.PATCH("/api/threads/{thread_id}/messages/{message_id}", {
      params: { path: { ...threadPath, message_id: reply.id } },
      body: { content: "An edited reply" },
    }),
  );
  const forked: Thread = ok(
    await client.POST("/api/threads/{thread_id}/fork", {
      params: { path: threadPath },
      body: { message_id: edited.id },
    }),
  );
  const forkBranch = ok(
    await client.GET("/api/threads/{thread_id}/messages", {
      params: { path: { thread_id: forked.id } },
    }),
  );

  const unknownFieldBody: ThreadCreate = {
    title: "x",
    // @ts-expect-error the generated type refuses unknown fields, as the server does
    colour: "red",
  };
  const unknownField = await client.POST("/api/threads", { body: unknownFieldBody });
  const outOfRange = await client.PATCH("/api/threads/{thread_id}", {
    params: { path: threadPath },
    body: { params: { temperature: 5 } },
  });
  const missing = await client.GET("/api/threads/{thread_id}", {
    params: { path: { thread_id: "00000000-0000-0000-0000-000000000001" } },
  });
  const errors: Record<string, { status: number; body: ErrorBody | undefined }> = {
    unknownField: { status: unknownField.response.status, body: unknownField.error },
    outOfRange: { status: outOfRange.response.status, body: outOfRange.error },
    missing: { status: missing.response.status, body: missing.error },
  };

  console.log(
    JSON.stringify({
      thread,
      sent,
      listedIds: listed.data.map((t) => t.id),
      edited,
      forked,
      forkBranch: forkBranch.data,
      errors,
    }),
  );
}

await main();
