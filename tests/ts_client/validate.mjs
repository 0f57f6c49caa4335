// Validates an OpenAPI document against the OpenAPI 3.1 specification with Redocly's
// `struct` rule (the structural check openapi-typescript itself relies on).
//
//   node validate.mjs <document URL>
//
// Prints one JSON object: the document's `openapi` version and every problem found.
import { createConfig, lint } from "@redocly/openapi-core";

const config = await createConfig({ rules: { struct: "error" } });
const problems = await lint({ ref: process.argv[2], config });
const document = await (await fetch(process.argv[2])).json();
console.log(
  JSON.stringify({
    openapi: document.openapi,
    problems: problems.map(({ ruleId, message, location }) => ({
      ruleId,
      message,
      pointer: location[0]?.pointer,
    })),
  }),
);
