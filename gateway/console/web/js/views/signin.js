// views/signin.js — Sign in with an applicationKeyId and applicationKey
// (b2_authorize_account). The master key works too.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';
import { field, errorBox, busy } from '../ui.js';

let message = '';

// setMessage sets what the sign-in page says first (why the session ended).
export function setMessage(m) {
  message = m;
}

export function render(root, onSignedIn) {
  const keyId = h('input', { type: 'text', name: 'keyId', autocomplete: 'username', spellcheck: 'false', required: true, class: 'mono' });
  const key = h('input', { type: 'password', name: 'applicationKey', autocomplete: 'current-password', required: true, class: 'mono' });
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const note = h('p', { class: 'notice', role: 'status', hidden: !message }, message);
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, h('span', { class: 'brand-mark' }, 'coffer'), ' Sign in'),
    note,
    field('applicationKeyId (keyID)', keyId).el,
    field('applicationKey', key, 'An application key from coffer serve, b2_create_key or the Application Keys page; the master application key works too.').el,
    err,
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errorBox(err, null);
    if (!keyId.value.trim() || !key.value) {
      errorBox(err, 'Enter both the applicationKeyId and the applicationKey.');
      return;
    }
    await busy(submit, async () => {
      try {
        const s = await api.authorize(keyId.value.trim(), key.value);
        session.set(s);
        message = '';
        onSignedIn();
      } catch (ex) {
        errorBox(err, ex instanceof api.B2Error && ex.status === 401
          ? 'The applicationKeyId or applicationKey is not valid (or the key has expired).'
          : ex);
        key.focus();
      }
    });
  });
  replace(root, h('div', { class: 'signin-wrap' }, form));
  keyId.focus();
}
