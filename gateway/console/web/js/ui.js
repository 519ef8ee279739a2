// ui.js — the console's few building blocks: modal dialogs, confirmations,
// labelled fields with their error, copyable values, status messages.

import { h, replace, uid } from './dom.js';
import { readable } from './api.js';

// dialog opens a modal <dialog>: Escape and the Close button close it,
// focus returns where it was. It returns {el, body, close}.
export function dialog(title, ...content) {
  const back = document.activeElement;
  const titleId = uid('dlg-title');
  const body = h('div', { class: 'dialog-body' }, content);
  const el = h('dialog', { 'aria-labelledby': titleId },
    h('header', { class: 'dialog-head' },
      h('h2', { id: titleId }, title),
      h('button', { type: 'button', class: 'icon', 'aria-label': 'Close', on: { click: () => close() } }, '×')),
    body);
  const close = () => {
    if (el.open) el.close();
  };
  el.addEventListener('close', () => {
    el.remove();
    if (back && back.isConnected) back.focus();
  });
  document.body.appendChild(el);
  el.showModal();
  return { el, body, close };
}

// confirm asks a yes/no question; it resolves true when the user confirms.
export function confirm(title, message, action, { danger = true } = {}) {
  return new Promise((resolve) => {
    let answer = false;
    const ok = h('button', { type: 'button', class: danger ? 'danger' : 'primary', on: { click: () => { answer = true; d.close(); } } }, action);
    const d = dialog(title,
      h('p', {}, message),
      h('div', { class: 'actions' },
        h('button', { type: 'button', on: { click: () => d.close() } }, 'Cancel'),
        ok));
    d.el.addEventListener('close', () => resolve(answer));
    ok.focus();
  });
}

// field wraps a control with its label, help and error line. The control
// gets an id, aria-describedby, and aria-invalid while it has an error.
export function field(label, control, help) {
  const id = control.id || uid('f');
  control.id = id;
  const helpId = `${id}-help`;
  const errId = `${id}-err`;
  const err = h('p', { class: 'field-error', id: errId, role: 'alert' });
  control.setAttribute('aria-describedby', help ? `${helpId} ${errId}` : errId);
  const wrap = h('div', { class: 'field' },
    h('label', { for: id }, label),
    control,
    help && h('p', { class: 'help', id: helpId }, help),
    err);
  return {
    el: wrap,
    control,
    setError(msg) {
      replace(err, msg || '');
      if (msg) control.setAttribute('aria-invalid', 'true');
      else control.removeAttribute('aria-invalid');
    },
  };
}

// radios builds a labelled group of radio buttons: options are
// [value, label, help?]. It returns {el, value(), set(v), onChange(fn)}.
export function radios(legend, name, options, selected) {
  const inputs = [];
  const group = h('fieldset', { class: 'radios' }, h('legend', {}, legend),
    options.map(([value, label, help]) => {
      const input = h('input', { type: 'radio', name, value, checked: value === selected });
      inputs.push(input);
      return h('label', { class: 'radio' }, input, h('span', {}, label, help && h('small', {}, help)));
    }));
  return {
    el: group,
    value: () => (inputs.find((i) => i.checked) || {}).value,
    set: (v) => inputs.forEach((i) => { i.checked = i.value === v; }),
    onChange: (fn) => inputs.forEach((i) => i.addEventListener('change', () => fn(i.value))),
    inputs,
  };
}

// checkbox builds a labelled checkbox.
export function checkbox(label, checked, help) {
  const input = h('input', { type: 'checkbox', checked: !!checked });
  return { el: h('label', { class: 'check' }, input, h('span', {}, label, help && h('small', {}, help))), input };
}

// copyValue shows a value in a read-only field with a Copy button.
export function copyValue(label, value) {
  const input = h('input', { type: 'text', readOnly: true, value, class: 'mono' });
  const status = h('span', { class: 'copied', role: 'status' });
  const btn = h('button', {
    type: 'button', 'aria-label': `Copy ${label}`,
    on: { click: async () => { await copy(input); replace(status, 'Copied'); setTimeout(() => replace(status), 2000); } },
  }, 'Copy');
  const f = field(label, input);
  f.el.classList.add('copy-field');
  f.el.insertBefore(h('div', { class: 'copy-row' }, input, btn, status), f.el.querySelector('.field-error'));
  return f.el;
}

// copy puts an input's value on the clipboard; without the Clipboard API
// (plain http on another host) it falls back to the selection.
async function copy(input) {
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    input.select();
    document.execCommand('copy');
  }
}

// announce says something in the page's live region.
export function announce(msg) {
  const live = document.getElementById('live');
  if (live) replace(live, msg);
}

// errorBox shows an error as a readable sentence, or nothing.
export function errorBox(el, err) {
  if (!err) {
    replace(el);
    el.hidden = true;
    return;
  }
  replace(el, typeof err === 'string' ? err : readable(err));
  el.hidden = false;
}

// busy disables a button while work runs, then re-enables it.
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

// dl builds a definition list from [term, value] pairs (values may be
// nodes); pairs with a null value are left out.
export function dl(pairs, cls) {
  return h('dl', { class: cls || 'details' }, pairs.filter(([, v]) => v !== null && v !== undefined)
    .map(([t, v]) => h('div', {}, h('dt', {}, t), h('dd', {}, v))));
}
