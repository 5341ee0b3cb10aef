//! splitledger in the browser: balance and settlement previews computed by the same code as
//! the server, so a page can show what an expense will do before anything is saved.
//!
//! Three functions, each a thin binding over [`splitledger_core::preview`]: [`allocate`],
//! [`balances`] and [`settlement_plan`] (`settlementPlan` in JavaScript), and two for pages
//! that preview against a real group or a large history: [`balances_with`] (`balancesWith`:
//! a server's balances plus a draft) and [`balances_from_json`] (`balancesFromJson`: a ledger
//! as JSON text). They take and return
//! plain JS objects in the JSON shapes of the HTTP API: amounts and ids as strings, `null`
//! rather than `undefined`, arrays and plain objects rather than `Map`s. Each throws a JS
//! `Error` whose `code` is the server's stable code for the same problem:
//!
//! - `"validation_failed"` (HTTP 422 on the server), with `errors`: the same
//!   `[{field, code, message}]` the server answers;
//! - `"bad_request"` (HTTP 400): the input does not have the expected shape (a missing field,
//!   a number where a string belongs, ...); `errors` is then empty.

use serde::Serialize;
use serde::de::DeserializeOwned;
use splitledger_core::error::{VALIDATION_FAILED, ValidationErrors};
use splitledger_core::preview;
use wasm_bindgen::prelude::*;

/// The stable code of an input that does not have the expected shape (HTTP 400).
pub const BAD_REQUEST: &str = "bad_request";

/// The stable code of a failure of the module itself (a result it could not convert).
pub const INTERNAL_ERROR: &str = "internal_error";

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A member id: any string (the server uses UUIDs). */
export type MemberId = string;

/** An exact amount as a decimal string (`"12.34"`), never a number. */
export type Amount = string;

/** An ISO 4217 currency code (`"EUR"`). */
export type CurrencyCode = string;

/** One member and an amount. */
export interface AmountEntry {
  user_id: MemberId;
  amount: Amount;
}

/** How an expense is split, as the HTTP API spells it. */
export type SplitInput =
  | { type: "equal"; /** Every member of `members` when absent or null. */ members?: MemberId[] | null }
  | { type: "exact"; shares: { user_id: MemberId; amount: Amount }[] }
  | { type: "percent"; shares: { user_id: MemberId; percent: string }[] }
  | { type: "shares"; shares: { user_id: MemberId; weight: string }[] };

/**
 * An expense input as the HTTP API takes it, plus `id` (any string; it seeds the tie-break)
 * and `members` (the group's member ids in join order). Give exactly one of `paid_by` and
 * `payers`. Other expense fields (description, category, ...) are accepted and ignored.
 */
export interface AllocateInput {
  id: string;
  /** `expense` (the default) or `income`: allocated the same way. */
  kind?: ExpenseKind | null;
  members: MemberId[];
  amount: Amount;
  /** Required here: there is no group to default to. */
  currency: CurrencyCode | null;
  paid_by?: MemberId | null;
  payers?: AmountEntry[] | null;
  split: SplitInput;
  /**
   * Paid in `currency`, booked in `group_currency` at this rate (units of the group's currency
   * per unit of `currency`, at most 12 significant digits), exactly as the server books it.
   */
  exchange_rate?: string | null;
  /** The group's currency: required with `exchange_rate`. */
  group_currency?: CurrencyCode | null;
  [field: string]: unknown;
}

/** What was entered for an expense booked from another currency. */
export interface Original {
  amount: Amount;
  currency: CurrencyCode;
  exchange_rate: string;
  payers: AmountEntry[];
  shares: AmountEntry[];
}

/** Money spent (`expense`) or money received (`income`). */
export type ExpenseKind = "expense" | "income";

/** Exactly what the server stores for an expense; each list adds up to its amount. */
export interface Allocation {
  payers: AmountEntry[];
  shares: AmountEntry[];
  /** With `exchange_rate`: the converted amount, in the group's currency. */
  amount?: Amount;
  /** With `exchange_rate`: the group's currency (`payers` and `shares` are in it). */
  currency?: CurrencyCode;
  /** With `exchange_rate`: what was entered. */
  original?: Original;
}

/** A stored expense's money (e.g. an `Allocation` plus its currency). */
export interface LedgerExpense {
  /** `income` reverses every balance sign (receiving 30 lowers `paid` by 30). */
  kind?: ExpenseKind;
  currency: CurrencyCode;
  payers: AmountEntry[];
  shares: AmountEntry[];
}

/** A repayment. */
export interface LedgerSettlement {
  from_user: MemberId;
  to_user: MemberId;
  amount: Amount;
  currency: CurrencyCode;
}

/** A group's history, as `balances` takes it (and `balancesFromJson` as JSON text). */
export interface Ledger {
  expenses?: LedgerExpense[];
  settlements?: LedgerSettlement[];
}

/** One member's balance in one currency: `net = paid − owed + sent − received + converted`. */
export interface MemberBalance {
  user_id: MemberId;
  paid: Amount;
  owed: Amount;
  sent: Amount;
  received: Amount;
  /** Moved into this currency by conversions of balances (the browser has none: `0`). */
  converted: Amount;
  /** Signed: positive when the member is owed money. */
  net: Amount;
}

/** Every member's balance in one currency, sorted by member id. */
export interface CurrencyBalances {
  currency: CurrencyCode;
  members: MemberBalance[];
}

/**
 * What `balances` returns, as `GET /groups/{id}/balances` does (without `display_name`), and
 * what `balancesWith` starts from (the server's answer, `display_name` and all, is accepted).
 */
export interface Balances {
  /** One block per currency, in code order. */
  balances: CurrencyBalances[];
}

/**
 * What `settlementPlan` takes: `Balances`, of which only each member's `net` is read. A net is
 * a sum of totals, not one amount: it is signed and may be far above an amount's 10^12 bound
 * (anything 64-bit minor units hold), so every net `balances` returns is taken back.
 */
export interface BalancesInput {
  balances: { currency: CurrencyCode; members: { user_id: MemberId; net: Amount }[] }[];
}

/** One payment of a plan. */
export interface Transfer {
  from: MemberId;
  to: MemberId;
  amount: Amount;
  currency: CurrencyCode;
}

/** What `settlementPlan` returns, as `GET /groups/{id}/settlement-plan` does. */
export interface SettlementPlan {
  /** By currency, then payer, then payee. */
  transfers: Transfer[];
  /** Whether the number of transfers is proven minimal. */
  optimal: boolean;
}

/** One refused field, as the server's 422 answer lists it. */
export interface FieldError {
  field: string;
  code: string;
  message: string;
}

/** What the three functions throw. */
export interface PreviewError extends Error {
  /** The server's stable code for the same problem. */
  code: "validation_failed" | "bad_request" | "internal_error";
  /** The refused fields (empty unless `code` is `"validation_failed"`). */
  errors: FieldError[];
}
"#;

/// Computes an expense's allocation: exactly the `payers` and `shares` the server would store
/// for it.
///
/// # Errors
/// A JS `Error` with `code` `"validation_failed"` and `errors` when the expense is refused, or
/// `"bad_request"` when `input` does not have the shape of an expense input.
#[wasm_bindgen(js_name = allocate, unchecked_return_type = "Allocation")]
pub fn allocate(
    #[wasm_bindgen(unchecked_param_type = "AllocateInput")] input: JsValue,
) -> Result<JsValue, JsValue> {
    run(input, preview::allocate)
}

/// Computes every member's balance per currency from a group's expenses and repayments.
///
/// # Errors
/// A JS `Error` with `code` `"validation_failed"` and `errors` when an entry is refused (e.g.
/// payers and shares of an expense that do not add up to the same amount), or `"bad_request"`
/// when `ledger` does not have the shape of a ledger.
#[wasm_bindgen(js_name = balances, unchecked_return_type = "Balances")]
pub fn balances(
    #[wasm_bindgen(unchecked_param_type = "Ledger")] ledger: JsValue,
) -> Result<JsValue, JsValue> {
    run(ledger, preview::balances)
}

#[wasm_bindgen]
extern "C" {
    /// The platform's UTF-8 encoder (browsers and Node alike).
    type TextEncoder;

    #[wasm_bindgen(constructor)]
    fn new() -> TextEncoder;

    #[wasm_bindgen(method)]
    fn encode(this: &TextEncoder, text: &js_sys::JsString) -> js_sys::Uint8Array;
}

/// A JS string as UTF-8, encoded natively and copied into the module in one piece. A `&str`
/// parameter is copied by wasm-bindgen's glue one UTF-16 unit at a time in JavaScript, which
/// for the megabytes of a large ledger took about as long as parsing them. The encoder
/// replaces lone surrogates, as the glue does, so its output is always UTF-8; checking it once
/// here spares serde_json checking every string it borrows.
fn utf8(text: &js_sys::JsString) -> Result<String, std::string::FromUtf8Error> {
    String::from_utf8(TextEncoder::new().encode(text).to_vec())
}

/// Plans the fewest transfers that settle the given balances (the output of [`balances`]).
///
/// Every net [`balances`] can return is accepted, however large: nets are parsed exactly, up
/// to what 64-bit minor units hold, and planned without any sum leaving 128 bits.
///
/// # Errors
/// A JS `Error` with `code` `"validation_failed"` and `errors` when a net is malformed or the
/// nets of a currency do not add up to zero, or `"bad_request"` when `balances` does not have
/// the shape of the output of [`balances`].
#[wasm_bindgen(js_name = settlementPlan, unchecked_return_type = "SettlementPlan")]
pub fn settlement_plan(
    #[wasm_bindgen(unchecked_param_type = "BalancesInput")] balances: JsValue,
) -> Result<JsValue, JsValue> {
    run(balances, preview::settlement_plan)
}

/// Computes the balances that `balances` (e.g. the server's `GET /groups/{id}/balances`, or an
/// earlier answer of [`balances`]) become once the entries of `more` (e.g. one draft expense)
/// are added: what [`balances`] over the whole history plus `more` would answer, without the
/// history, so a page can preview a draft against a group of any size in microseconds.
///
/// # Errors
/// A JS `Error` with `code` `"validation_failed"` and `errors` when a starting total or an
/// entry is refused (fields `balances[i]...`, `expenses[i]...`, `settlements[i]...`; a net
/// that does not follow from its member's totals is `net_mismatch`), or `"bad_request"` when
/// either argument does not have its shape.
#[wasm_bindgen(js_name = balancesWith, unchecked_return_type = "Balances")]
pub fn balances_with(
    #[wasm_bindgen(unchecked_param_type = "Balances")] balances: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Ledger")] more: JsValue,
) -> Result<JsValue, JsValue> {
    let more: preview::LedgerInput = from_js(more)?;
    run(balances, |start| preview::balances_with(start, &more))
}

/// [`balances`] of a ledger given as JSON text (e.g. `JSON.stringify(ledger)`, or text kept
/// as the server sent it): the same answer, without turning every expense and share into a
/// JS object and back, which is most of the time a large preview takes.
///
/// # Errors
/// As [`balances`]; text that is not JSON of a ledger's shape is `"bad_request"`.
#[wasm_bindgen(js_name = balancesFromJson, unchecked_return_type = "Balances")]
pub fn balances_from_json(
    #[wasm_bindgen(unchecked_param_type = "string")] ledger: js_sys::JsString,
) -> Result<JsValue, JsValue> {
    let text =
        utf8(&ledger).map_err(|e| error(BAD_REQUEST, &format!("malformed input: {e}"), &[]))?;
    // Ids and amounts stay slices of `text`: no string is allocated per entry.
    let ledger: preview::LedgerText<'_> = serde_json::from_str(&text)
        .map_err(|e| error(BAD_REQUEST, &format!("malformed input: {e}"), &[]))?;
    answer(preview::balances_of_text(&ledger))
}

/// An operation's result as the module answers it: the value, or the Error it promises.
fn answer<O: Serialize>(output: Result<O, ValidationErrors>) -> Result<JsValue, JsValue> {
    let output = output.map_err(|e| error(VALIDATION_FAILED, &e.to_string(), e.errors()))?;
    to_js(&output).map_err(|e| error(INTERNAL_ERROR, &e.to_string(), &[]))
}

/// A JS value as `I`, or the `"bad_request"` Error the module promises.
fn from_js<I: DeserializeOwned>(input: JsValue) -> Result<I, JsValue> {
    serde_wasm_bindgen::from_value(input)
        .map_err(|e| error(BAD_REQUEST, &format!("malformed input: {e}"), &[]))
}

/// Converts the input, calls `operation` and converts its answer, mapping each failure to the
/// JS `Error` the module promises.
fn run<I: DeserializeOwned, O: Serialize>(
    input: JsValue,
    operation: impl FnOnce(&I) -> Result<O, ValidationErrors>,
) -> Result<JsValue, JsValue> {
    let input: I = from_js(input)?;
    answer(operation(&input))
}

/// A value in the JSON shapes of the HTTP API: plain objects, `null`, no `Map`.
fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, serde_wasm_bindgen::Error> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
}

/// A JS `Error` with the given message, a `code` and the field `errors`.
fn error(code: &str, message: &str, errors: &[splitledger_core::error::FieldError]) -> JsValue {
    let error = js_sys::Error::new(message);
    // Field errors are strings only, so converting them cannot fail; should it ever, the
    // caller still gets an Error with its code and an empty list rather than no Error at all.
    let errors = to_js(errors).unwrap_or_else(|_| js_sys::Array::new().into());
    // Setting a property on a fresh, unfrozen Error cannot fail.
    let _ = js_sys::Reflect::set(&error, &"code".into(), &code.into());
    let _ = js_sys::Reflect::set(&error, &"errors".into(), &errors);
    error.into()
}
