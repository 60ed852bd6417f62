// The chosen language and the lookup of strings. Chinese comes first; the
// choice is remembered in localStorage (it is not a secret).

import zh from './zh-CN.js';
import en from './en.js';

const LANG_KEY = 'timebank.lang';
const DICTS = { 'zh-CN': zh, en };

function readLang() {
  try {
    const v = localStorage.getItem(LANG_KEY);
    if (v === 'en' || v === 'zh-CN') return v;
  } catch { /* storage disabled */ }
  return 'zh-CN';
}

let lang = readLang();

export function getLang() {
  return lang;
}

export function setLang(next) {
  lang = next === 'en' ? 'en' : 'zh-CN';
  try { localStorage.setItem(LANG_KEY, lang); } catch { /* storage disabled */ }
  document.documentElement.lang = lang;
}

/** t('key', {name: 'x'}, fallback) — "{name}" in the string is replaced. */
export function t(key, params, fallback) {
  let str = DICTS[lang][key];
  if (str === undefined) str = zh[key];
  if (str === undefined) return fallback !== undefined ? fallback : key;
  if (params) {
    str = str.replace(/\{(\w+)\}/g, (m, k) => (params[k] !== undefined && params[k] !== null ? String(params[k]) : m));
  }
  return str;
}

export const LANGS = [['zh-CN', '简体中文'], ['en', 'English']];
