// views/buckets.js — Buckets: the list, Create a Bucket, the privacy
// setting, Delete Bucket; the per-bucket settings dialogs live in
// bucket_settings.js.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';
import { bucketNameProblem } from '../names.js';
import { dialog, confirm, field, radios, errorBox, busy, copyValue, dl, announce } from '../ui.js';
import { date } from '../format.js';
import { lifecycleDialog, lifecycleSummary, corsDialog, corsSummary, objectLockDialog, retentionSummary } from './bucket_settings.js';

export function render(main) {
  const list = h('div', { class: 'cards', 'aria-live': 'polite', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading buckets…'));
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const create = session.can('writeBuckets') && !session.restricted()
    ? h('button', { type: 'button', class: 'primary', on: { click: () => createDialog(reload) } }, 'Create a Bucket')
    : null;
  replace(main, h('div', { class: 'view-head' }, h('h1', {}, 'Buckets'), create), err, list);
  let alive = true;
  async function reload() {
    try {
      const buckets = await api.listBuckets();
      if (!alive) return;
      buckets.sort((a, b) => a.bucketName.localeCompare(b.bucketName));
      replace(list, buckets.length ? buckets.map((b) => card(b, reload))
        : h('p', { class: 'empty' }, create ? 'No buckets yet. Click Create a Bucket to make one.' : 'This key sees no buckets.'));
      errorBox(err, null);
    } catch (e) {
      if (alive) {
        replace(list);
        errorBox(err, e);
      }
    } finally {
      list.setAttribute('aria-busy', 'false');
    }
  }
  reload();
  return () => { alive = false; };
}

// typeName is how the console says a bucket type.
export function typeName(t) {
  return { allPublic: 'Public', allPrivate: 'Private', snapshot: 'Snapshot' }[t] || t;
}

function encryptionOf(b) {
  const e = b.defaultServerSideEncryption;
  if (!e || !e.isClientAuthorizedToRead) return 'Not readable with this key';
  return e.value && e.value.mode === 'SSE-B2' ? 'Enabled (SSE-B2, AES256)' : 'Disabled';
}

function lockOf(b) {
  const l = b.fileLockConfiguration;
  if (!l || !l.isClientAuthorizedToRead) return 'Not readable with this key';
  if (!l.value || !l.value.isFileLockEnabled) return 'Disabled';
  return `Enabled${retentionSummary(l.value.defaultRetention) ? ', default retention ' + retentionSummary(l.value.defaultRetention) : ''}`;
}

// lockEnabled reports whether a bucket has Object Lock (as far as the key may read).
export function lockEnabled(b) {
  const l = b.fileLockConfiguration;
  return !!(l && l.isClientAuthorizedToRead && l.value && l.value.isFileLockEnabled);
}

// friendlyBase is where a bucket's files are, by name.
export function friendlyBase(b) {
  return `${session.get().downloadUrl}/file/${encodeURIComponent(b.bucketName)}/`;
}

function card(b, reload) {
  const s = session.get();
  const titleId = `bucket-${b.bucketId}`;
  const actions = [
    (session.can('listFiles') || session.can('writeFiles')) && h('a', { class: 'button', href: `#/browse/${encodeURIComponent(b.bucketName)}` }, 'Upload/Download'),
    session.can('writeBuckets') && h('button', { type: 'button', on: { click: () => settingsDialog(b, reload) } }, 'Bucket Settings'),
    session.can('writeBuckets') && h('button', { type: 'button', on: { click: () => lifecycleDialog(b, reload) } }, 'Lifecycle Settings'),
    session.can('writeBuckets') && h('button', { type: 'button', on: { click: () => corsDialog(b, reload) } }, 'CORS Rules'),
    lockEnabled(b) && session.can('writeBucketRetentions') && h('button', { type: 'button', on: { click: () => objectLockDialog(b, reload) } }, 'Object Lock'),
    session.can('deleteBuckets') && h('button', { type: 'button', class: 'danger-text', on: { click: () => deleteBucket(b, reload) } }, 'Delete Bucket'),
  ];
  return h('section', { class: 'card bucket', 'aria-labelledby': titleId, dataset: { bucket: b.bucketName } },
    h('h2', { id: titleId, class: 'mono' }, b.bucketName),
    dl([
      ['Files in Bucket are', h('span', { class: `badge ${b.bucketType}` }, typeName(b.bucketType))],
      ['Bucket ID', h('span', { class: 'mono' }, b.bucketId)],
      ['Created', b.creationTimestamp ? date(b.creationTimestamp) : '—'],
      ['Encryption', encryptionOf(b)],
      ['Object Lock', lockOf(b)],
      ['Endpoint', h('span', { class: 'mono' }, s.s3ApiUrl)],
      ['Friendly URL', h('span', { class: 'mono' }, friendlyBase(b))],
      ['Lifecycle', lifecycleSummary(b.lifecycleRules)],
      ['CORS Rules', corsSummary(b.corsRules)],
    ], 'fields'),
    h('div', { class: 'actions wrap' }, actions));
}

// createDialog is Create a Bucket, in the seed's words.
function createDialog(reload) {
  const name = h('input', { type: 'text', name: 'bucketName', autocomplete: 'off', spellcheck: 'false', required: true, maxlength: '63', class: 'mono' });
  const nameField = field('Bucket Unique Name', name, 'At least six characters: lower-case letters, digits and "-". Names are unique across the whole cluster.');
  const privacy = radios('Files in Bucket are', 'bucketType', [
    ['allPrivate', 'Private', 'Downloads need authentication.'],
    ['allPublic', 'Public', 'Anyone with the URL can download the files (never upload).'],
  ], 'allPrivate');
  const enc = radios('Default Encryption', 'encryption', [
    ['none', 'Disable'],
    ['SSE-B2', 'Enable', 'Server-side encryption with keys managed by coffer (SSE-B2).'],
  ], 'none');
  const lock = radios('Object Lock', 'objectLock', [
    ['off', 'Disable'],
    ['on', 'Enable', 'Files can then be protected from changes and deletion for a set time. It cannot be turned off later.'],
  ], 'off');
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Create a Bucket');
  const form = h('form', { novalidate: true }, nameField.el, privacy.el,
    session.can('writeBucketEncryption') ? enc.el : null,
    session.can('writeBucketRetentions') ? lock.el : null,
    err,
    h('div', { class: 'actions' }, h('button', { type: 'button', on: { click: () => d.close() } }, 'Cancel'), submit));
  const d = dialog('Create a Bucket', form);
  name.addEventListener('input', () => nameField.setError(name.value ? bucketNameProblem(name.value) : ''));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errorBox(err, null);
    const problem = bucketNameProblem(name.value);
    nameField.setError(problem);
    if (problem) {
      name.focus();
      return;
    }
    const body = { accountId: api.accountId(), bucketName: name.value, bucketType: privacy.value() };
    if (session.can('writeBucketEncryption')) body.defaultServerSideEncryption = enc.value() === 'SSE-B2' ? { mode: 'SSE-B2', algorithm: 'AES256' } : { mode: 'none' };
    if (session.can('writeBucketRetentions') && lock.value() === 'on') body.fileLockEnabled = true;
    await busy(submit, async () => {
      try {
        const b = await api.call('b2_create_bucket', body);
        announce(`Bucket ${b.bucketName} created.`);
        reload();
        // The seed's step 8: copy the Endpoint.
        replace(d.body, h('p', { class: 'notice', role: 'status' }, 'Bucket ', h('strong', { class: 'mono' }, b.bucketName), ' created. Copy the value in the Endpoint field; S3 clients need it.'),
          copyValue('Endpoint', session.get().s3ApiUrl),
          h('div', { class: 'actions' },
            h('button', { type: 'button', on: { click: () => { d.close(); lifecycleDialog(b, reload); } } }, 'Lifecycle Settings'),
            h('button', { type: 'button', class: 'primary', on: { click: () => d.close() } }, 'Done')));
        d.body.querySelector('button.primary').focus();
      } catch (ex) {
        if (ex instanceof api.B2Error && (ex.code === 'duplicate_bucket_name' || /bucket name/i.test(ex.message))) {
          nameField.setError(ex.code === 'duplicate_bucket_name' ? 'That bucket name is already in use. Pick another.' : api.readable(ex));
          name.focus();
        } else {
          errorBox(err, ex);
        }
      }
    });
  });
  name.focus();
}

// settingsDialog changes a bucket's privacy.
function settingsDialog(b, reload) {
  const privacy = radios('Files in Bucket are', 'bucketType', [
    ['allPrivate', 'Private', 'Downloads need authentication.'],
    ['allPublic', 'Public', 'Anyone with the URL can download the files.'],
  ], b.bucketType);
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Update Bucket');
  const form = h('form', {}, privacy.el, err,
    h('div', { class: 'actions' }, h('button', { type: 'button', on: { click: () => d.close() } }, 'Cancel'), submit));
  const d = dialog(`Bucket Settings: ${b.bucketName}`, form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(submit, async () => {
      try {
        await api.call('b2_update_bucket', { accountId: api.accountId(), bucketId: b.bucketId, bucketType: privacy.value() });
        announce(`Bucket ${b.bucketName} is now ${typeName(privacy.value())}.`);
        d.close();
        reload();
      } catch (ex) {
        errorBox(err, ex);
      }
    });
  });
  privacy.inputs.find((i) => i.checked).focus();
}

async function deleteBucket(b, reload) {
  const ok = await confirm(`Delete Bucket ${b.bucketName}?`,
    'The bucket must be empty: delete its files (every version) first. This cannot be undone.', 'Delete Bucket');
  if (!ok) return;
  try {
    await api.call('b2_delete_bucket', { accountId: api.accountId(), bucketId: b.bucketId });
    announce(`Bucket ${b.bucketName} deleted.`);
    reload();
  } catch (ex) {
    const msg = ex instanceof api.B2Error && /non-empty|not empty/i.test(ex.message)
      ? `The bucket ${b.bucketName} is not empty. Delete its files (every version, and unfinished uploads) first, then delete the bucket.`
      : api.readable(ex);
    await confirm('The bucket was not deleted', msg, 'OK', { danger: false });
  }
}
