// The connected mode of the demo (?server=URL): sign in to a running splitledger server, pick
// one of your groups, see its balances and plan, and preview a draft expense as you type — its
// shares, everyone's new balances and the new plan — computed in the browser from the
// server's balances plus the draft (balancesWith). Saving creates the expense with the draft's
// own id, so the server stores exactly the previewed rows; the page then compares the
// server's answer, balances and plan with the preview and says whether they are equal.
//
// The server must allow this page's origin (`--cors-origins`). Calls go through api.js,
// whose types are generated from the server's openapi.json.

import { allocate, balancesWith, settlementPlan } from "./pkg/splitledger_wasm.js";
import { Api } from "./api.js";

const $ = (id) => document.getElementById(id);

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value == null) continue;
    if (name === "text") node.textContent = value;
    else if (name === "value") node.value = value;
    else if (name === "checked") node.checked = value;
    else if (name === "selected") node.selected = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c != null));
  return node;
}

const SPLITS = { equal: "equally", exact: "exact amounts", percent: "percentages", shares: "shares" };
const FIELD = { exact: "amount", percent: "percent", shares: "weight" };

let api;
/** The open group: its body, the server's balances and plan, and the draft's preview. */
let group = null;
let serverBalances = null;
let preview = null;
/** The draft's id: chosen here, so the server's allocation is the previewed one. */
let draftId = crypto.randomUUID();

/** JSON with every object's keys sorted: the server writes its keys in another order. */
const canonical = (value) =>
  JSON.stringify(value, (_, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );

const nameOf = (userId) => group?.members.find((m) => m.user_id === userId)?.display_name ?? userId;

function showError(target, error) {
  const errors = error.errors?.length ? error.errors : [{ field: "", message: error.message, code: error.code }];
  $(target).replaceChildren(
    ...errors.map((e) => el("li", { "data-code": e.code ?? error.code, text: `${e.field ? e.field + ": " : ""}${e.message}` })),
  );
}

// --- signing in and choosing a group ---------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  $("signin-errors").replaceChildren();
  try {
    await api.signIn({ email: $("signin-email").value, password: $("signin-password").value });
    const page = await api.groups();
    $("signin").hidden = true;
    $("groups-card").hidden = false;
    $("groups").replaceChildren(
      ...page.items.map((g) =>
        el("li", {}, el("button", { type: "button", "data-group": g.id, text: `${g.name} (${g.currency})` })),
      ),
    );
    if (page.items.length === 0) $("groups").append(el("li", { class: "note", text: "You are in no group yet." }));
  } catch (error) {
    showError("signin-errors", error);
  }
}

async function openGroup(groupId) {
  group = await api.group(groupId);
  serverBalances = await api.balances(groupId);
  const plan = await api.plan(groupId);
  $("group-card").hidden = false;
  $("group-name").textContent = `${group.name} — ${group.currency}`;
  renderBalances("server-balances", serverBalances);
  renderPlan("server-plan", plan);
  resetDraft();
}

// --- the draft -------------------------------------------------------------------------------

function resetDraft() {
  draftId = crypto.randomUUID();
  $("draft").dataset.id = draftId;
  for (const id of ["draft-description", "draft-amount", "draft-rate"]) $(id).value = "";
  $("draft-currency").value = group.currency;
  $("draft-kind").value = "expense";
  $("draft-split").value = "equal";
  $("draft-payer").replaceChildren(
    ...group.members.map((m) => el("option", { value: m.user_id, text: m.display_name })),
  );
  renderPortions();
  recompute();
}

function renderPortions() {
  const type = $("draft-split").value;
  $("draft-portions").replaceChildren(
    ...group.members.map((m) =>
      type === "equal"
        ? el("label", {}, el("input", { type: "checkbox", checked: true, "data-member": m.user_id }), m.display_name)
        : el(
            "label",
            {},
            m.display_name,
            el("input", { type: "text", inputmode: "decimal", "data-member": m.user_id, "aria-label": `${m.display_name} (${type})` }),
          ),
    ),
  );
}

/** The draft as the API's expense input (what is saved), without `members`. */
function draftInput() {
  const type = $("draft-split").value;
  const inputs = [...$("draft-portions").querySelectorAll("[data-member]")];
  const split =
    type === "equal"
      ? { type, members: inputs.filter((i) => i.checked).map((i) => i.dataset.member) }
      : {
          type,
          shares: inputs
            .filter((i) => i.value.trim() !== "")
            .map((i) => ({ user_id: i.dataset.member, [FIELD[type]]: i.value.trim() })),
        };
  const currency = $("draft-currency").value.trim().toUpperCase() || group.currency;
  const rate = $("draft-rate").value.trim();
  return {
    id: draftId,
    kind: $("draft-kind").value,
    description: $("draft-description").value.trim() || "Draft",
    amount: $("draft-amount").value.trim(),
    currency,
    ...(currency !== group.currency || rate !== "" ? { exchange_rate: rate } : {}),
    paid_by: $("draft-payer").value,
    split,
  };
}

function recompute() {
  const started = performance.now();
  preview = null;
  $("draft-errors").replaceChildren();
  $("save").disabled = true;
  const input = draftInput();
  $("draft-rate-row").hidden = input.currency === group.currency;
  if (input.amount === "") {
    $("draft-shares").textContent = "Enter an amount.";
    renderBalances("draft-balances", serverBalances);
    $("draft-plan").replaceChildren();
    return;
  }
  try {
    const allocation = allocate({ ...input, members: group.members.map((m) => m.user_id), group_currency: group.currency });
    const booked = allocation.currency ?? input.currency;
    const after = balancesWith(serverBalances, {
      expenses: [{ kind: input.kind, currency: booked, payers: allocation.payers, shares: allocation.shares }],
    });
    const plan = settlementPlan(after);
    preview = { input, allocation, balances: after, plan };
    $("draft-shares").textContent =
      `Shares (${booked}${allocation.original ? `, booked at ${input.exchange_rate}` : ""}): ` +
      allocation.shares.map((s) => `${nameOf(s.user_id)} ${s.amount}`).join(" · ");
    $("draft-shares").dataset.shares = JSON.stringify(allocation.shares);
    renderBalances("draft-balances", after);
    renderPlan("draft-plan", plan);
    $("save").disabled = false;
  } catch (error) {
    $("draft-shares").textContent = "";
    showError("draft-errors", error);
  }
  $("draft-timing").textContent = `Previewed in ${(performance.now() - started).toFixed(2)} ms.`;
}

/** Saves the draft with its id and checks the server's answer, balances and plan. */
async function save() {
  if (!preview) return;
  const { input, allocation, balances: expected, plan } = preview;
  $("save").disabled = true;
  $("saved").textContent = "Saving…";
  delete $("saved").dataset.equal;
  try {
    const stored = await api.createExpense(group.id, input);
    const served = await api.balances(group.id);
    const servedPlan = await api.plan(group.id);
    const rows = (x) => canonical({ payers: x.payers, shares: x.shares, original: x.original ?? null });
    const nets = (b) =>
      canonical(b.balances.map((c) => [c.currency, c.members.map((m) => [m.user_id, m.paid, m.owed, m.sent, m.received, m.converted, m.net])]));
    const same = {
      rows: rows(stored) === rows(allocation),
      balances: nets(served) === nets(expected),
      plan: canonical(servedPlan) === canonical(plan),
    };
    const equal = same.rows && same.balances && same.plan;
    const saved = $("saved");
    saved.dataset.equal = String(equal);
    saved.dataset.expenseId = stored.id;
    saved.textContent = equal
      ? `Saved “${stored.description}”: the server stored exactly the previewed shares, and its balances and plan equal the preview.`
      : `Saved, but the server differs from the preview: ${Object.entries(same).filter(([, v]) => !v).map(([k]) => k).join(", ")}.`;
    serverBalances = served;
    renderBalances("server-balances", served);
    renderPlan("server-plan", servedPlan);
    resetDraft();
  } catch (error) {
    $("saved").textContent = `Not saved: ${error.message}`;
    showError("draft-errors", error);
    $("save").disabled = false;
  }
}

// --- rendering -------------------------------------------------------------------------------

function renderBalances(target, view) {
  $(target).replaceChildren(
    ...(view.balances.length === 0 ? [el("p", { class: "note", text: "No balances yet." })] : []),
    ...view.balances.map((block) =>
      el(
        "table",
        { "data-currency": block.currency },
        el("caption", { text: block.currency }),
        el("thead", {}, el("tr", {}, ...["Member", "Paid", "Owes", "Net"].map((h) => el("th", { text: h })))),
        el(
          "tbody",
          {},
          ...block.members.map((m) =>
            el(
              "tr",
              { "data-member": m.user_id },
              el("td", { text: nameOf(m.user_id) }),
              el("td", { text: m.paid }),
              el("td", { text: m.owed }),
              el("td", { class: m.net.startsWith("-") ? "negative" : "positive", "data-net": m.net, text: m.net }),
            ),
          ),
        ),
      ),
    ),
  );
}

function renderPlan(target, plan) {
  $(target).replaceChildren(
    ...plan.transfers.map((t) =>
      el("li", { "data-transfer": `${t.from}>${t.to} ${t.amount} ${t.currency}` }, `${nameOf(t.from)} pays ${nameOf(t.to)} ${t.amount} ${t.currency}`),
    ),
  );
  $(target).dataset.optimal = String(plan.optimal);
}

/** Starts the connected mode against the server at `base`. */
export function start(base) {
  api = new Api(base);
  $("connected").hidden = false;
  $("server-address").textContent = base;
  $("signin").addEventListener("submit", signIn);
  $("groups").addEventListener("click", (event) => {
    const id = event.target.closest("[data-group]")?.dataset.group;
    if (id) openGroup(id).catch((error) => showError("draft-errors", error));
  });
  const draft = $("draft");
  draft.addEventListener("input", (event) => {
    if (event.target.id === "draft-split") renderPortions();
    recompute();
  });
  draft.addEventListener("change", (event) => {
    if (event.target.id === "draft-split") renderPortions();
    recompute();
  });
  $("save").addEventListener("click", () => save());
}
