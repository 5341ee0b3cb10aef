// Replays the cases written by wasm/tests/parity.rs through the built Node module and fails
// on any difference from core's native answers.
//
// Usage: node wasm/tests/parity.mjs OUT_DIR/node CASES.json
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { isDeepStrictEqual } from "node:util";

const [moduleDir, casesFile] = process.argv.slice(2);
if (!moduleDir || !casesFile) {
  console.error("usage: node parity.mjs MODULE_DIR CASES.json");
  process.exit(2);
}
const module = createRequire(import.meta.url)(resolve(moduleDir, "splitledger_wasm.js"));
const cases = JSON.parse(readFileSync(casesFile, "utf8"));

/** What the module answered, in the shape core's answers are written in. */
function answer(fn, input) {
  try {
    // Through JSON, as a page would send it: undefined, Maps or numbers would not survive.
    const out = module[fn](input);
    return { ok: out, json: JSON.parse(JSON.stringify(out)) };
  } catch (e) {
    if (!(e instanceof Error)) return { thrown: e };
    if (e.code === "bad_request") return { error: { code: e.code }, errors: e.errors };
    return { error: { code: e.code, errors: e.errors, message: e.message } };
  }
}

let failures = 0;
const outcomes = {};
for (const [i, c] of cases.entries()) {
  const got = answer(c.function, c.input);
  const key = `${c.function} ${got.ok ? "ok" : (got.error?.code ?? "not an Error")}${got.error?.errors?.[0] ? " " + got.error.errors[0].code : ""}`;
  outcomes[key] = (outcomes[key] ?? 0) + 1;
  let same;
  if ("ok" in got) {
    // The object itself, and its JSON round trip (no undefined, no Map, no number slipped in).
    same = isDeepStrictEqual(got.ok, c.expected.ok) && isDeepStrictEqual(got.json, c.expected.ok);
  } else if (got.error?.code === "bad_request") {
    same = isDeepStrictEqual(got.error, c.expected.error) && isDeepStrictEqual(got.errors, []);
  } else {
    same = isDeepStrictEqual({ error: got.error }, c.expected);
  }
  if (!same) {
    failures += 1;
    if (failures <= 5) {
      console.log(`case ${i} (${c.function}) differs`);
      console.log("  input:    " + JSON.stringify(c.input));
      console.log("  core:     " + JSON.stringify(c.expected));
      console.log("  module:   " + JSON.stringify(got));
    }
  }
}
console.log("outcomes: " + JSON.stringify(outcomes));
if (failures > 0) {
  console.log(`${failures} of ${cases.length} cases differ`);
  process.exit(1);
}
console.log(`parity: ${cases.length} cases identical`);
