// Type-checks the generated declarations (web/splitledger_wasm.d.ts) the way a TypeScript
// page would use them; scripts/test-wasm copies this file next to the built web/ folder and
// runs `tsc --noEmit --strict` on it. Never run, only compiled.
import init, { allocate, balances, settlementPlan, type PreviewError, type Ledger } from "./web/splitledger_wasm.js";
await init();
const a = allocate({ id: "e", members: ["a", "b"], amount: "10.00", currency: "EUR", paid_by: "a", split: { type: "equal" }, description: "x" });
const ledger: Ledger = { expenses: [{ currency: "EUR", payers: a.payers, shares: a.shares }] };
const b = balances(ledger);
const p = settlementPlan(b);
const s: string = p.transfers[0].amount;
const ok: boolean = p.optimal;
const net: string = b.balances[0].members[0].net;
try { allocate({ id: "e", members: [], amount: "1", currency: null, split: { type: "percent", shares: [{ user_id: "a", percent: "100" }] } }); }
catch (e) { const err = e as PreviewError; const c: "validation_failed" | "bad_request" | "internal_error" = err.code; console.log(c, err.errors[0]?.field, s, ok, net); }
// @ts-expect-error amounts are strings, never numbers
allocate({ id: "e", members: [], amount: 10, currency: "EUR", split: { type: "equal" } });
