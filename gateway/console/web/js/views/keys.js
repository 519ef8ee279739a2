// views/keys.js — Application Keys: the list, Add a New Application Key
// with the seed's fields (the applicationKey shown once), Delete.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';
import { keyNameProblem } from '../names.js';
import { dialog, confirm, field, radios, checkbox, errorBox, busy, copyValue, announce } from '../ui.js';
import { date, duration } from '../format.js';

// The capabilities behind the seed's three types of access. Key management
// is never granted from here: a key that may write keys holds the whole
// account (Backblaze's own warning about writeKeys).
const READ = ['listBuckets', 'readBuckets', 'listFiles', 'readFiles', 'shareFiles', 'readBucketEncryption',
  'readBucketRetentions', 'readBucketReplications', 'readFileRetentions', 'readFileLegalHolds'];
const WRITE = ['listBuckets', 'writeFiles', 'deleteFiles', 'writeFileRetentions', 'writeFileLegalHolds'];
// Bucket administration (what a bucket-restricted key may hold of it
// stays: encryption, retention defaults, governance bypass).
const BUCKETS = ['writeBuckets', 'deleteBuckets', 'writeBucketEncryption', 'writeBucketRetentions', 'bypassGovernance'];

// ACCOUNT_LEVEL are the capabilities a key restricted to buckets cannot
// hold (the server refuses them, as B2 does).
const ACCOUNT_LEVEL = new Set(['listKeys', 'writeKeys', 'deleteKeys', 'writeBuckets', 'deleteBuckets',
  'readBucketReplications', 'writeBucketReplications']);

// capabilitiesFor is what a new key gets.
export function capabilitiesFor(access, allBuckets, listAllNames) {
  let caps;
  switch (access) {
    case 'read': caps = [...READ]; break;
    case 'write': caps = [...WRITE]; break;
    default: caps = [...READ, ...WRITE, ...BUCKETS];
  }
  if (listAllNames) caps.push('listAllBucketNames');
  if (!allBuckets) caps = caps.filter((c) => !ACCOUNT_LEVEL.has(c));
  return [...new Set(caps)];
}

// MAX_DURATION is B2's limit: less than 1000 days, in seconds.
const MAX_DURATION = 1000 * 86400;

export function render(main) {
  const tbody = h('tbody');
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const more = h('button', { type: 'button', hidden: true }, 'Load more');
  let buckets = new Map();
  let next = null;
  let alive = true;
  const add = session.can('writeKeys')
    ? h('button', { type: 'button', class: 'primary', on: { click: () => addDialog([...buckets.values()], reload) } }, 'Add a New Application Key')
    : null;
  replace(main, h('div', { class: 'view-head' }, h('h1', {}, 'Application Keys'), add),
    h('p', {}, 'Application keys control access to the buckets of this account. The applicationKey is shown only once, when the key is created.'),
    err,
    h('div', { class: 'table-wrap' }, h('table', { class: 'keys stack' },
      h('thead', {}, h('tr', {},
        ['keyName', 'keyID', 'Bucket', 'Capabilities', 'File name prefix', 'Expiration', ''].map((t) => h('th', { scope: 'col' }, t)))),
      tbody)),
    more);
  const row = (k) => {
    const ids = k.bucketIds || (k.bucketId ? [k.bucketId] : null);
    const mine = k.applicationKeyId === session.get().keyId;
    const cell = (label, cls, ...content) => h('td', { class: cls, dataset: { label } }, content);
    return h('tr', { dataset: { key: k.applicationKeyId } },
      cell('keyName', '', k.keyName, mine ? h('span', { class: 'badge' }, 'this session') : null),
      cell('keyID', 'mono', k.applicationKeyId),
      cell('Bucket', 'mono', ids ? ids.map((id) => (buckets.get(id) || {}).bucketName || id).join(', ') : 'All'),
      cell('Capabilities', 'caps', k.capabilities.join(', ')),
      cell('File name prefix', 'mono', k.namePrefix || ''),
      cell('Expiration', '', k.expirationTimestamp ? date(k.expirationTimestamp) : 'Never'),
      h('td', {}, session.can('deleteKeys') && h('button', {
        type: 'button', class: 'danger-text', 'aria-label': `Delete key ${k.keyName}`,
        on: { click: () => deleteKey(k, mine, reload) },
      }, 'Delete')));
  };
  async function page() {
    try {
      const q = { accountId: api.accountId(), maxKeyCount: 100 };
      if (next) q.startApplicationKeyId = next;
      const r = await api.call('b2_list_keys', q);
      if (!alive) return;
      for (const k of r.keys) tbody.appendChild(row(k));
      next = r.nextApplicationKeyId;
      more.hidden = !next;
    } catch (e) {
      if (alive) errorBox(err, e);
    }
  }
  async function reload() {
    replace(tbody);
    next = null;
    errorBox(err, null);
    if (session.can('listBuckets')) {
      try {
        buckets = new Map((await api.listBuckets()).map((b) => [b.bucketId, b]));
      } catch {
        buckets = new Map(); // names are a nicety; the ids still show
      }
    }
    await page();
  }
  more.addEventListener('click', () => busy(more, page));
  reload();
  return () => { alive = false; };
}

async function deleteKey(k, mine, reload) {
  const warn = mine ? ' You are signed in with this key: the console will sign you out.' : '';
  if (!await confirm(`Delete key ${k.keyName}?`, `Applications using keyID ${k.applicationKeyId} will stop working.${warn}`, 'Delete Key')) return;
  try {
    await api.call('b2_delete_key', { applicationKeyId: k.applicationKeyId });
    announce(`Key ${k.keyName} deleted.`);
    reload();
  } catch (e) {
    await confirm('The key was not deleted', api.readable(e), 'OK', { danger: false });
  }
}

function addDialog(buckets, reload) {
  const name = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: '100' });
  const nameField = field('Name of Key', name, 'Letters, digits and "-". Names need not be unique.');
  const bucket = h('select', {}, h('option', { value: '' }, 'All'),
    buckets.sort((a, b) => a.bucketName.localeCompare(b.bucketName)).map((b) => h('option', { value: b.bucketId }, b.bucketName)));
  const bucketField = field('Allow access to Bucket(s)', bucket);
  const access = radios('Type of Access', 'access', [['rw', 'Read and Write'], ['read', 'Read Only'], ['write', 'Write Only']], 'rw');
  const listAll = checkbox('Allow List All Bucket Names', false, 'Required for b2_list_buckets and S3 List Buckets by keys restricted to a bucket.');
  const prefix = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', class: 'mono' });
  const prefixField = field('File name prefix (optional)', prefix, 'Restricts the key to files whose names start with it.');
  const dur = h('input', { type: 'number', min: '1', max: String(MAX_DURATION - 1), inputmode: 'numeric', class: 'narrow' });
  const durField = field('Duration (seconds, optional)', dur, 'A positive whole number of seconds, less than 1000 days (86,400,000 s). Empty: the key never expires.');
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create New Key');
  const form = h('form', { novalidate: true }, nameField.el, bucketField.el, access.el, listAll.el, prefixField.el, durField.el, err,
    h('div', { class: 'actions' }, h('button', { type: 'button', on: { click: () => d.close() } }, 'Cancel'), submit));
  const d = dialog('Add a New Application Key', form);
  name.addEventListener('input', () => nameField.setError(name.value ? keyNameProblem(name.value) : ''));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errorBox(err, null);
    const problem = keyNameProblem(name.value);
    nameField.setError(problem);
    let seconds = null;
    durField.setError('');
    if (dur.value.trim() !== '') {
      seconds = Number(dur.value);
      if (!Number.isInteger(seconds) || seconds < 1 || seconds >= MAX_DURATION) {
        durField.setError('Enter a whole number of seconds from 1 to 86,399,999 (less than 1000 days).');
        dur.focus();
        return;
      }
    }
    if (problem) {
      name.focus();
      return;
    }
    const body = {
      accountId: api.accountId(), keyName: name.value,
      capabilities: capabilitiesFor(access.value(), bucket.value === '', listAll.input.checked),
    };
    if (bucket.value) body.bucketIds = [bucket.value];
    if (prefix.value) body.namePrefix = prefix.value;
    if (seconds) body.validDurationInSeconds = seconds;
    await busy(submit, async () => {
      try {
        const k = await api.call('b2_create_key', body);
        reload();
        // The seed: the applicationKey appears only once.
        replace(d.body,
          h('p', { class: 'notice', role: 'status' }, 'Success! Your new application key has been created.'),
          h('p', { class: 'warning' }, 'The applicationKey is shown here only once: copy it and keep it somewhere safe. It will not be shown again.'),
          copyValue('keyID', k.applicationKeyId),
          copyValue('keyName', k.keyName),
          copyValue('applicationKey', k.applicationKey),
          h('p', { class: 'help' }, `Capabilities: ${k.capabilities.join(', ')}${k.expirationTimestamp ? `. Expires ${date(k.expirationTimestamp)} (in ${duration(seconds)})` : ''}.`),
          h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', on: { click: () => d.close() } }, 'Done')));
        d.body.querySelector('button.primary').focus();
      } catch (ex) {
        errorBox(err, ex);
      }
    });
  });
  name.focus();
}
