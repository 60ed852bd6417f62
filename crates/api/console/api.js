// Every call to /api/v1 goes through here. The access token lives in this
// module only; the refresh token in sessionStorage (this tab, survives a
// reload) — never in localStorage.

import { getLang, t } from './i18n/index.js';

const BASE = '/api/v1';
const REFRESH_KEY = 'timebank.refresh';
const RETRY_CODES = new Set(['invalid_token', 'token_expired']);

let access = null;
let refreshing = null;
let alive = false;
let expiredHandler = () => {};

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.name = 'ApiError';
    this.isApiError = true;
    this.status = status;
    this.code = code;
    this.details = details || null;
  }
}

function networkError() {
  return new ApiError(0, 'network_error', t('error.network'));
}

function readRefresh() {
  try { return sessionStorage.getItem(REFRESH_KEY); } catch { return null; }
}

function writeRefresh(v) {
  try {
    if (v) sessionStorage.setItem(REFRESH_KEY, v);
    else sessionStorage.removeItem(REFRESH_KEY);
  } catch { /* storage disabled */ }
}

function setTokens(pair) {
  access = pair.access_token;
  writeRefresh(pair.refresh_token);
  alive = true;
}

export function clearSession() {
  access = null;
  alive = false;
  writeRefresh(null);
}

export function hasSession() {
  return alive && !!access;
}

export function hasStoredRefresh() {
  return !!readRefresh();
}

/** Called once when the session cannot be renewed. */
export function onSessionExpired(fn) {
  expiredHandler = fn;
}

function expire() {
  const was = alive;
  clearSession();
  if (was) {
    try { expiredHandler(); } catch { /* the handler reports itself */ }
  }
}

function buildUrl(path, query) {
  let url = BASE + path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v === null || v === undefined || v === '') continue;
      qs.set(k, String(v));
    }
    const str = qs.toString();
    if (str) url += (url.includes('?') ? '&' : '?') + str;
  }
  return url;
}

async function rawFetch(method, path, opts, token) {
  const headers = {
    'Accept-Language': getLang() === 'en' ? 'en' : 'zh-CN',
    Accept: opts.accept || 'application/json',
  };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.body);
  }
  try {
    return await fetch(buildUrl(path, opts.query), init);
  } catch {
    throw networkError();
  }
}

async function readError(resp) {
  let body = null;
  try {
    const text = await resp.text();
    body = text ? JSON.parse(text) : null;
  } catch { /* not JSON */ }
  const e = body && body.error;
  if (e && typeof e === 'object') {
    return new ApiError(resp.status, e.code || 'error', e.message || t('error.http', { status: resp.status }), e.details);
  }
  return new ApiError(resp.status, 'http_' + resp.status, t('error.http', { status: resp.status }));
}

/** One refresh at a time, shared by everyone who needs it. Resolves true/false. */
function refreshOnce() {
  if (!refreshing) {
    refreshing = (async () => {
      const rt = readRefresh();
      if (!rt) return false;
      const resp = await rawFetch('POST', '/auth/refresh', { body: { refresh_token: rt } }, null);
      if (!resp.ok) {
        if (resp.status >= 500 || resp.status === 429) throw await readError(resp);
        return false;
      }
      setTokens(await resp.json());
      return true;
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

async function authedFetch(method, path, opts) {
  const used = access;
  let resp = await rawFetch(method, path, opts, used);
  if (resp.status !== 401) return resp;
  const err = await readError(resp);
  if (!RETRY_CODES.has(err.code)) {
    expire();
    err.silent = true;
    throw err;
  }
  if (access === used) {
    const ok = await refreshOnce();
    if (!ok) {
      expire();
      err.silent = true;
      throw err;
    }
  }
  resp = await rawFetch(method, path, opts, access);
  if (resp.status === 401) {
    const again = await readError(resp);
    expire();
    again.silent = true;
    throw again;
  }
  return resp;
}

/**
 * request('GET', '/volunteers', {query, body, idempotencyKey}) → parsed JSON (null for 204).
 * Throws ApiError. A 401 the session cannot recover from is thrown with
 * `silent` set (the app has already gone to the sign-in page).
 */
export async function request(method, path, opts = {}) {
  const resp = await authedFetch(method, path, opts);
  if (!resp.ok) throw await readError(resp);
  if (resp.status === 204) return null;
  const text = await resp.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(resp.status, 'bad_response', t('error.bad_response'));
  }
}

export const get = (path, query) => request('GET', path, { query });
export const post = (path, body, extra = {}) => request('POST', path, { body, ...extra });
export const del = (path) => request('DELETE', path, {});

/** A file (the CSV export): fetched with the bearer token, returned as a Blob. */
export async function blob(path, query, accept = 'text/csv') {
  const resp = await authedFetch('GET', path, { query, accept });
  if (!resp.ok) throw await readError(resp);
  return resp.blob();
}

/** Sign in. Throws ApiError (wrong password, rate limited…). */
export async function login(phone, password) {
  const resp = await rawFetch('POST', '/auth/login', { body: { phone, password } }, null);
  if (!resp.ok) throw await readError(resp);
  const data = await resp.json();
  setTokens(data);
  return data.user;
}

/** On start: a refresh token in this tab's sessionStorage gives a new pair. */
export async function restore() {
  if (!readRefresh()) return false;
  const ok = await refreshOnce();
  if (!ok) clearSession();
  return ok;
}

/** Sign out: revoke the refresh token, forget everything. Never throws. */
export async function logout() {
  const rt = readRefresh();
  const token = access;
  clearSession();
  if (!rt) return;
  try {
    await rawFetch('POST', '/auth/logout', { body: { refresh_token: rt } }, token);
  } catch { /* signed out locally anyway */ }
}
