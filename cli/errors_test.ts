import assert from "node:assert/strict";
import { API_TERMS, inCliTerms, issueInCliTerms } from "./errors.ts";

Deno.test("API messages name CLI commands and flags, not routes and body fields", () => {
  const cases: [string, string][] = [
    [
      'Start one per region (`deno task coordinator --region us-east`), or pass "allowNoCoordinator": true (CLI --allow-no-coordinator) to start it anyway',
      "Start one per region (`deno task coordinator --region us-east`), or pass --allow-no-coordinator to start it anyway",
    ],
    ['or pass "allowNoCoordinator": true', "or pass --allow-no-coordinator"],
    [
      'Config "web" does not exist: create it with PUT /v1/configs/web (`deno task atlas configs create web`)',
      'Config "web" does not exist: create it with `atlas configs create web`',
    ],
    [
      "add it with PUT /v1/regions/ap-south (`deno task atlas regions add ap-south`)",
      "add it with `atlas regions add ap-south`",
    ],
    [
      "No region is provisioned yet: add one with PUT /v1/regions/<name> (`deno task atlas regions add us-east`)",
      "No region is provisioned yet: add one with `atlas regions add <name>` (e.g. `atlas regions add us-east`)",
    ],
    ["not known: GET /v1/agents lists the agents", "not known: `atlas agents` lists the agents"],
    ["see GET /v1/rollouts for it", "see `atlas rollout list` for it"],
    [
      "or remove it anyway with ?force=true (`atlas agents remove --force`)",
      "or remove it anyway with --force (`atlas agents remove <region> <id> --force`)",
    ],
    [
      "activate another version, or pass toVersion",
      "activate another version, or pass --to <version>",
    ],
    ["Nothing to map here", "Nothing to map here"],
  ];
  for (const [api, cli] of cases) assert.equal(inCliTerms(api), cli);
  assert.deepEqual(issueInCliTerms({ path: "/strategy/bakeSeconds", message: "too big" }), {
    path: "--bake",
    message: "too big",
  });
  assert.deepEqual(issueInCliTerms({ path: "/stages/0", message: "x" }), {
    path: "/stages/0",
    message: "x",
  });
  // Every message pattern is global (it rewrites each occurrence) and every CLI word is a
  // command or a flag.
  for (const { api, cli } of API_TERMS) {
    if (typeof api !== "string") assert.ok(api.global, String(api));
    assert.match(cli, /`atlas |--|<version>/);
  }
});
