// Preview = stored, end to end: random expenses (every split kind, one and several payers,
// odd amounts, EUR/JPY/KWD/USD, income, expenses booked from another currency at an
// `exchange_rate`, and some the server must refuse) are previewed with the built Node module
// and created on a real splitledger-server with the same client-chosen id; the rows the
// server stores must be the preview, byte for byte, and a refusal must carry the same codes.
// Then `balances` and `settlementPlan` over the server's own stored rows must equal
// `GET /balances` and `GET /settlement-plan`, and so must `balancesWith` (the server's
// balances plus a draft expense) equal the server's balances once the draft is saved.
//
// Usage: node wasm/tests/e2e.mjs MODULE_DIR [sqlite|postgres://...] [COUNT]
// Environment: SEED (default 20261203) to replay a run; SPLITLEDGER_SERVER (see server.mjs).
import { createRequire } from "node:module";
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { cleanup, deadline } from "../../scripts/lib/webdriver.mjs";
import { Client, startServer } from "./server.mjs";

const [moduleDir, database = "sqlite", countArg = "300"] = process.argv.slice(2);
if (!moduleDir) {
  console.error("usage: node e2e.mjs MODULE_DIR [sqlite|postgres://...] [COUNT]");
  process.exit(2);
}
const wasm = createRequire(import.meta.url)(resolve(moduleDir, "splitledger_wasm.js"));
const count = Number(countArg);
const seed = Number(process.env.SEED ?? 20261203);
const where = database === "sqlite" ? "SQLite" : "PostgreSQL";
const cancelDeadline = deadline(300, `end-to-end test on ${where}`);

// --- seeded randomness (mulberry32), so a failing run can be replayed with SEED ---------------

let state = seed >>> 0;
function next() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (n) => Math.floor(next() * n);
const choose = (list) => list[pick(list.length)];
const chance = (p) => next() < p;

const DIGITS = { EUR: 2, JPY: 0, KWD: 3, USD: 2 };

/** `units` minor units of `currency` as the API writes them ("12.05", "1200", "0.125"). */
function format(units, currency) {
  const digits = DIGITS[currency];
  const sign = units < 0 ? "-" : "";
  const text = String(Math.abs(units)).padStart(digits + 1, "0");
  return digits === 0 ? sign + text : `${sign}${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

/** `total` split into `parts` positive integers (total ≥ parts), unevenly. */
function partition(total, parts) {
  const cuts = new Set();
  while (cuts.size < parts - 1) cuts.add(1 + pick(total - 1));
  const sorted = [...cuts].sort((a, b) => a - b);
  return [...sorted, total].map((cut, i) => cut - (i === 0 ? 0 : sorted[i - 1]));
}

/** Some of `members` (at least one, at most `most`), in a random order. */
function some(members, most = members.length) {
  const shuffled = [...members].sort(() => next() - 0.5);
  return shuffled.slice(0, 1 + pick(Math.min(most, members.length)));
}

/** A random exchange rate: up to 7 significant digits, between about 0.0001 and 500. */
function rate() {
  const digits = 1 + pick(7);
  const mantissa = String(1 + pick(10 ** digits - 1));
  const scale = pick(digits + 4);
  const padded = mantissa.padStart(scale + 1, "0");
  return scale === 0 ? padded : `${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
}

/**
 * A random expense input for a group, and whether it was made to be refused. Every split
 * kind, one or several payers, income, and about one in five booked from another currency.
 */
function randomExpense(group) {
  const members = group.members;
  let currency = group.currency;
  let exchange = null;
  if (chance(0.2)) {
    currency = choose(Object.keys(DIGITS).filter((c) => c !== group.currency));
    exchange = rate();
  }
  const units = chance(0.1) ? 1 + pick(9) : 1 + pick(chance(0.5) ? 10_000 : 5_000_000);
  const input = {
    id: randomUUID(),
    description: `random ${pick(1000)}`,
    amount: format(units, currency),
    currency: exchange || chance(0.5) ? currency : null,
  };
  if (chance(0.15)) input.kind = "income";
  if (exchange) input.exchange_rate = exchange;

  const payers = some(members, 3);
  if (payers.length === 1 || units < payers.length) input.paid_by = payers[0];
  else {
    const parts = partition(units, payers.length);
    input.payers = payers.map((user_id, i) => ({ user_id, amount: format(parts[i], currency) }));
  }

  const among = some(members);
  const type = choose(["equal", "equal", "exact", "percent", "shares"]);
  if (type === "equal") {
    input.split = chance(0.3) ? { type } : { type, members: among };
  } else if (type === "exact") {
    const sharers = among.slice(0, Math.max(1, Math.min(among.length, units)));
    const parts = partition(units, sharers.length);
    input.split = { type, shares: sharers.map((user_id, i) => ({ user_id, amount: format(parts[i], currency) })) };
  } else if (type === "percent") {
    // Hundredths of a percent that add up to 100.
    const parts = among.length > 1 ? partition(10_000, among.length) : [10_000];
    input.split = {
      type,
      shares: among.map((user_id, i) => ({ user_id, percent: (parts[i] / 100).toFixed(choose([2, 2, 3])) })),
    };
  } else {
    input.split = {
      type,
      shares: among.map((user_id) => ({ user_id, weight: choose(["1", "2", "3", "0.5", "1.25", "7"]) })),
    };
  }

  // About one in twelve is made wrong in a way only the arithmetic can tell.
  let refused = false;
  if (chance(0.08)) {
    refused = true;
    const mistake = pick(3);
    if (mistake === 0) input.amount = `${format(units, currency)}${DIGITS[currency] === 0 ? ".5" : "1"}`;
    else if (mistake === 1 && input.payers) input.payers[0].amount = format(units + 1, currency);
    else input.split = { type: "percent", shares: [{ user_id: members[0], percent: "99.99" }] };
  }
  return { input, refused };
}

// --- the comparisons -------------------------------------------------------------------------

let checks = 0;

/** `stored` projected onto `preview`'s keys, recursively, so the two stringify alike. */
function project(preview, stored) {
  if (Array.isArray(preview)) {
    return Array.isArray(stored) && stored.length === preview.length
      ? preview.map((p, i) => project(p, stored[i]))
      : stored;
  }
  if (preview !== null && typeof preview === "object") {
    if (stored === null || typeof stored !== "object") return stored;
    return Object.fromEntries(Object.keys(preview).map((k) => [k, project(preview[k], stored[k])]));
  }
  return stored;
}

function same(what, preview, stored, context) {
  const a = JSON.stringify(preview);
  const b = JSON.stringify(project(preview, stored));
  checks += 1;
  if (a !== b) {
    throw new Error(`${what} differs\n  input:   ${JSON.stringify(context)}\n  preview: ${a}\n  stored:  ${b}`);
  }
}

/** The module's answer: `{ok}` or `{error: {code, errors}}`. */
function attempt(fn, input) {
  try {
    return { ok: fn(input) };
  } catch (e) {
    if (!(e instanceof Error) || typeof e.code !== "string") throw e;
    return { error: { code: e.code, errors: e.errors } };
  }
}

/** The server's `original` keeps what was entered; a plain expense has none. */
function checkExpense(group, client, input, preview, answer) {
  same("stored payers and shares", { payers: preview.payers, shares: preview.shares }, answer, input);
  if (input.exchange_rate) {
    same("booked amount, currency and original", {
      amount: preview.amount,
      currency: preview.currency,
      original: preview.original,
    }, answer, input);
  } else if (answer.original !== null || "original" in preview) {
    throw new Error(`a plain expense has an original: ${JSON.stringify({ input, preview, answer })}`);
  }
  if (answer.id !== input.id) throw new Error(`the server chose id ${answer.id}, not ${input.id}`);
}

/** What `balances` takes, from the server's own stored expenses and settlements. */
async function storedLedger(client, group) {
  const expenses = await client.all(`/groups/${group.id}/expenses`);
  const settlements = await client.all(`/groups/${group.id}/settlements`);
  return {
    expenses: expenses.map((e) => ({ kind: e.kind, currency: e.currency, payers: e.payers, shares: e.shares })),
    settlements: settlements.map((s) => ({
      from_user: s.from_user,
      to_user: s.to_user,
      amount: s.amount,
      currency: s.currency,
    })),
  };
}

/** The server's balances without `display_name` (the browser has no names). */
const withoutNames = (view) => ({
  balances: view.balances.map((block) => ({
    currency: block.currency,
    members: block.members.map(({ display_name: _, ...m }) => m),
  })),
});

async function compareBalances(client, group) {
  const ledger = await storedLedger(client, group);
  const view = wasm.balances(ledger);
  const served = withoutNames(await client.call("GET", `/groups/${group.id}/balances`));
  same(`balances of the ${group.currency} group`, view, served, group.id);
  // The same fields (the server writes its keys in another order; values are compared above).
  const fields = (v) => JSON.stringify(Object.keys(v.balances[0]?.members[0] ?? {}).sort());
  if (fields(served) !== fields(view)) {
    throw new Error(`the balances' fields differ from the server's: ${JSON.stringify(served.balances[0]?.members[0])}`);
  }
  const plan = wasm.settlementPlan(view);
  const servedPlan = await client.call("GET", `/groups/${group.id}/settlement-plan`);
  same(`settlement plan of the ${group.currency} group`, plan, servedPlan, group.id);
  // The plan of the server's own balances, as the connected page computes it.
  same(`plan of the served balances (${group.currency})`, wasm.settlementPlan(served), servedPlan, group.id);
  return { ledger, view, plan };
}

// --- the run ---------------------------------------------------------------------------------

async function setUp(base) {
  const { client, user } = await Client.signUp(base, "Ann");
  const groups = [];
  for (const [currency, size] of [["EUR", 6], ["JPY", 4], ["KWD", 5]]) {
    const group = await client.call("POST", "/groups", { name: `${currency} trip`, currency });
    for (let i = 1; i < size; i++) {
      await client.call("POST", `/groups/${group.id}/members`, { display_name: `Friend ${i}` });
    }
    const members = (await client.call("GET", `/groups/${group.id}/members`)).map((m) => m.user_id);
    if (members[0] !== user.id) throw new Error("the owner is not the first member listed");
    groups.push({ id: group.id, currency, members });
  }
  return { client, groups };
}

async function run() {
  const { base } = await startServer({ database });
  const { client, groups } = await setUp(base);
  const outcomes = {};
  for (let i = 0; i < count; i++) {
    const group = groups[i % groups.length];
    const { input, refused } = randomExpense(group);
    const previewInput = { ...input, members: group.members, group_currency: group.currency };
    if (!previewInput.currency) previewInput.currency = group.currency;
    const preview = attempt(wasm.allocate, previewInput);
    const answer = await client.raw("POST", `/groups/${group.id}/expenses`, input, [201, 400, 422]);
    const key = `${input.kind ?? "expense"} ${input.split.type}${input.exchange_rate ? " booked" : ""}${input.payers ? " payers" : ""} ${answer.status}`;
    const refusedWith = answer.status === 201 ? "" : ` ${answer.json.errors?.[0]?.code ?? answer.json.code}`;
    outcomes[key + refusedWith] = (outcomes[key + refusedWith] ?? 0) + 1;
    if (preview.ok) {
      if (answer.status !== 201) throw new Error(`previewed but refused: ${JSON.stringify(input)}\n${answer.text}`);
      checkExpense(group, client, input, preview.ok, answer.json);
    } else {
      if (answer.status === 201) throw new Error(`refused by the preview (${JSON.stringify(preview.error)}) but stored: ${JSON.stringify(input)}`);
      const codes = (errors) => JSON.stringify((errors ?? []).map((e) => [e.field, e.code]));
      same("refusal", { code: preview.error.code, errors: codes(preview.error.errors) }, { ...answer.json, errors: codes(answer.json.errors) }, input);
    }
    if (refused && preview.ok) {
      throw new Error(`a wrong expense was previewed: ${JSON.stringify(input)}`);
    }
    // Now and then someone repays: settlements count in the balances too.
    if (chance(0.05)) {
      const [from_user, to_user] = [...group.members].sort(() => next() - 0.5);
      await client.call("POST", `/groups/${group.id}/settlements`, {
        from_user,
        to_user,
        amount: format(1 + pick(5000), group.currency),
      });
    }
  }

  for (const group of groups) {
    const { view } = await compareBalances(client, group);
    // The connected page's path: the server's balances plus one draft, then the plan; once
    // the draft is saved the server must answer exactly those balances and that plan.
    for (let d = 0; d < 5; d++) {
      // A draft the module accepts (a random one may convert to nothing, say).
      let draft;
      let input;
      let allocation;
      do {
        draft = randomExpense(group);
        input = { ...draft.input, members: group.members, group_currency: group.currency };
        input.currency ??= group.currency;
        allocation = draft.refused ? null : attempt(wasm.allocate, input).ok;
      } while (!allocation);
      const served = withoutNames(await client.call("GET", `/groups/${group.id}/balances`));
      const after = wasm.balancesWith(served, {
        expenses: [{ kind: input.kind ?? "expense", currency: allocation.currency ?? input.currency, payers: allocation.payers, shares: allocation.shares }],
      });
      const plan = wasm.settlementPlan(after);
      await client.call("POST", `/groups/${group.id}/expenses`, draft.input);
      same(`balances with a draft (${group.currency})`, after, withoutNames(await client.call("GET", `/groups/${group.id}/balances`)), input);
      same(`plan with a draft (${group.currency})`, plan, await client.call("GET", `/groups/${group.id}/settlement-plan`), input);
    }
    if (view.balances.length === 0) throw new Error(`the ${group.currency} group has no balances`);
  }
  console.log(`outcomes: ${JSON.stringify(outcomes)}`);
  console.log(`end to end on ${where}: ${count} expenses, ${checks} comparisons, all identical (SEED=${seed})`);
}

try {
  await run();
  await cleanup();
  cancelDeadline();
} catch (error) {
  console.error(`end to end on ${where} (SEED=${seed}): ${error.stack ?? error.message}`);
  await cleanup();
  process.exit(1);
}
