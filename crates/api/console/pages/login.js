import * as api from '../api.js';
import { t, getLang, setLang, LANGS } from '../i18n/index.js';
import { h, replace, errorBanner, select, busy } from '../ui.js';
import { state } from '../state.js';

export function render(ctx) {
  const flash = state.flash;
  state.flash = null;

  const messages = h('div', { class: 'login-messages' });
  if (flash === 'expired') {
    messages.appendChild(h('div', { id: 'session-expired', class: 'notice notice-warning', role: 'alert' }, t('login.expired')));
  } else if (flash === 'not_staff') {
    messages.appendChild(h('div', { id: 'not-staff', class: 'notice notice-error error-message', role: 'alert' }, t('login.not_staff')));
  } else if (flash && flash.error) {
    messages.appendChild(errorBanner(flash.error));
  }

  const phone = h('input', {
    id: 'login-phone', name: 'phone', type: 'tel', inputmode: 'numeric', autocomplete: 'username',
    maxlength: 32, placeholder: t('login.phone_placeholder'), required: true,
  });
  const password = h('input', {
    id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password',
    maxlength: 128, placeholder: t('login.password_placeholder'), required: true,
  });
  const submit = h('button', { id: 'login-submit', type: 'submit', class: 'btn btn-primary btn-block' }, t('login.submit'));
  const errBox = h('div', { class: 'login-error' });

  const form = h('form', { class: 'login-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'login-phone' }, t('login.phone')), phone),
    h('div', { class: 'field' }, h('label', { for: 'login-password' }, t('login.password')), password),
    errBox,
    submit);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    replace(errBox);
    replace(messages);
    const ph = phone.value.trim();
    const pw = password.value;
    if (!ph || !pw) {
      errBox.appendChild(h('div', { class: 'error-message' }, t('login.missing')));
      (ph ? password : phone).focus();
      return;
    }
    busy(submit, async () => {
      try {
        await api.login(ph, pw);
        password.value = '';
        await ctx.app.afterLogin();
      } catch (err) {
        if (api.hasSession()) await api.logout();
        if (!err.silent) replace(errBox, errorBanner(err));
      }
    });
  });

  const lang = select(LANGS, { id: 'login-lang', class: 'lang-select', 'aria-label': t('top.language'), value: getLang() });
  lang.addEventListener('change', () => {
    setLang(lang.value);
    document.title = t('app.title');
    if (flash) state.flash = flash;
    ctx.app.rerender();
  });

  const main = h('main', { 'data-page': 'login', class: 'login-page' },
    h('div', { class: 'login-card' },
      h('div', { class: 'login-top' }, lang),
      h('div', { class: 'login-brand' },
        h('span', { class: 'brand-mark big' }, '♥'),
        h('h1', null, t('app.name')),
        h('p', { class: 'muted' }, t('login.subtitle'))),
      messages,
      form,
      h('p', { class: 'login-foot muted' }, t('login.foot'))));
  setTimeout(() => phone.focus(), 0);
  return main;
}
