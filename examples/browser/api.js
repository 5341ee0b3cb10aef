// @ts-check
// The connected page's calls to a splitledger server, typed by api.d.ts: TypeScript types
// generated from the server's openapi.json by openapi-typescript (scripts/test-wasm generates
// them and checks this file with `tsc --checkJs --strict`), so a renamed route, field or
// schema fails the tests instead of the page. Plain JavaScript with JSDoc types: the page
// needs no build step.

/** @typedef {import("./api").paths} Paths */
/** @typedef {import("./api").components["schemas"]} Schemas */
/** @typedef {Schemas["SessionBody"]} Session */
/** @typedef {Schemas["GroupPage"]} GroupPage */
/** @typedef {Schemas["GroupBody"]} Group */
/** @typedef {Schemas["BalancesBody"]} ServerBalances */
/** @typedef {Schemas["PlanBody"]} ServerPlan */
/** @typedef {Schemas["NewExpenseBody"]} NewExpense */
/** @typedef {Schemas["ExpenseBody"]} Expense */
/** @typedef {Schemas["LoginBody"]} Login */

/** The answer's JSON of a 2xx of `Paths[P][M]`, as the contract states it. */
/**
 * @template {keyof Paths} P
 * @template {"get" | "post"} M
 * @typedef {Paths[P][M] extends { responses: infer R }
 *   ? R extends { 200: { content: { "application/json; charset=utf-8": infer B } } } ? B
 *   : R extends { 201: { content: { "application/json; charset=utf-8": infer B } } } ? B
 *   : never
 *   : never} Answer
 */

/** A refusal of the server: its problem+json, with the stable `code` and field `errors`. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {{ code?: string, detail?: string, title?: string, errors?: { field: string, code?: string, message: string }[] }} problem
   */
  constructor(status, problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.status = status;
    this.code = problem.code ?? `http_${status}`;
    this.errors = problem.errors ?? [];
  }
}

export class Api {
  /** @param {string} base the server's address, e.g. `http://127.0.0.1:8080` */
  constructor(base) {
    this.base = base.replace(/\/+$/, "");
    /** @type {string | null} */
    this.token = null;
  }

  /**
   * Calls `method` on the route template `path` (a key of the contract's paths) with the
   * given path parameters and body; resolves to the typed answer, or throws an ApiError.
   * @template {keyof Paths} P
   * @template {"get" | "post"} M
   * @param {M} method
   * @param {P} path
   * @param {Record<string, string>} [params]
   * @param {unknown} [body]
   * @returns {Promise<Answer<P, M>>}
   */
  async call(method, path, params = {}, body = undefined) {
    const url = path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(params[name] ?? ""));
    /** @type {Record<string, string>} */
    const headers = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const response = await fetch(`${this.base}/api/v1${url}`, {
      method: method.toUpperCase(),
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    /** @type {any} */
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = { detail: text.slice(0, 200) };
    }
    if (!response.ok) throw new ApiError(response.status, json ?? {});
    return json;
  }

  /**
   * Signs in with a password; later calls carry the bearer token.
   * @param {Login} login
   * @returns {Promise<Session>}
   */
  async signIn(login) {
    const session = await this.call("post", "/auth/login", {}, login);
    this.token = session.access_token;
    return session;
  }

  /** @returns {Promise<GroupPage>} the first page of the caller's groups */
  groups() {
    return this.call("get", "/groups");
  }

  /** @param {string} groupId @returns {Promise<Group>} the group with its members */
  group(groupId) {
    return this.call("get", "/groups/{group_id}", { group_id: groupId });
  }

  /** @param {string} groupId @returns {Promise<ServerBalances>} */
  balances(groupId) {
    return this.call("get", "/groups/{group_id}/balances", { group_id: groupId });
  }

  /** @param {string} groupId @returns {Promise<ServerPlan>} */
  plan(groupId) {
    return this.call("get", "/groups/{group_id}/settlement-plan", { group_id: groupId });
  }

  /** @param {string} groupId @param {NewExpense} expense @returns {Promise<Expense>} */
  createExpense(groupId, expense) {
    return this.call("post", "/groups/{group_id}/expenses", { group_id: groupId }, expense);
  }
}
