// views/bucket_settings.js — a bucket's Lifecycle Settings, CORS Rules and
// Object Lock default retention, each written with b2_update_bucket.

import { h, replace, uid } from '../dom.js';
import * as api from '../api.js';
import { dialog, field, radios, errorBox, busy, announce } from '../ui.js';
import { plural } from '../format.js';

// ---- Lifecycle Settings: B2's four choices ---------------------------------

// lifecycleChoice reads rules back into one of the four choices.
function lifecycleChoice(rules) {
  if (!rules || rules.length === 0) return { choice: 'all' };
  if (rules.length === 1) {
    const r = rules[0];
    if (r.fileNamePrefix === '' && r.daysFromUploadingToHiding == null && r.daysFromStartingToCancelingUnfinishedLargeFiles == null && r.daysFromHidingToDeleting != null) {
      return r.daysFromHidingToDeleting === 1 ? { choice: 'last' } : { choice: 'days', days: r.daysFromHidingToDeleting };
    }
  }
  return { choice: 'custom' };
}

// lifecycleSummary says what a bucket keeps.
export function lifecycleSummary(rules) {
  const c = lifecycleChoice(rules);
  switch (c.choice) {
    case 'all': return 'Keep all versions of the file';
    case 'last': return 'Keep only the last version of the file';
    case 'days': return `Keep prior versions for ${plural(c.days, 'day')}`;
  }
  return `Custom lifecycle rules (${plural(rules.length, 'rule')})`;
}

// positive parses a whole number of days ('' → null), or throws a message.
function days(value, what) {
  const v = value.trim();
  if (v === '') return null;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 36500) throw new Error(`${what} must be a whole number of days from 1 to 36500.`);
  return Number(v);
}

export function lifecycleDialog(b, reload) {
  const cur = lifecycleChoice(b.lifecycleRules);
  const daysInput = h('input', { type: 'number', min: '1', max: '36500', inputmode: 'numeric', value: String(cur.days || 30), class: 'narrow' });
  const daysField = field('Number of days to keep prior versions', daysInput);
  const choice = radios('How long to keep the files in this bucket', 'lifecycle', [
    ['all', 'Keep all versions of the file (default)'],
    ['last', 'Keep only the last version of the file', 'Prior versions are deleted one day after a new version replaces them.'],
    ['days', 'Keep prior versions for this number of days'],
    ['custom', 'Use custom lifecycle rules'],
  ], cur.choice);
  const rows = h('div', { class: 'rule-rows' });
  const addRow = (r = {}) => {
    const prefix = h('input', { type: 'text', value: r.fileNamePrefix || '', class: 'mono', spellcheck: 'false' });
    const hide = h('input', { type: 'number', min: '1', inputmode: 'numeric', value: r.daysFromUploadingToHiding == null ? '' : String(r.daysFromUploadingToHiding), class: 'narrow' });
    const del = h('input', { type: 'number', min: '1', inputmode: 'numeric', value: r.daysFromHidingToDeleting == null ? '' : String(r.daysFromHidingToDeleting), class: 'narrow' });
    const row = h('fieldset', { class: 'rule-row' },
      h('legend', {}, 'Rule'),
      field('File name prefix', prefix, 'Empty: every file in the bucket.').el,
      field('Days from uploading to hiding', hide).el,
      field('Days from hiding to deleting', del).el,
      h('button', { type: 'button', class: 'danger-text', on: { click: () => { row.remove(); renumber(); } } }, 'Remove rule'));
    row.read = () => ({
      fileNamePrefix: prefix.value,
      daysFromUploadingToHiding: days(hide.value, 'Days from uploading to hiding'),
      daysFromHidingToDeleting: days(del.value, 'Days from hiding to deleting'),
    });
    rows.appendChild(row);
    renumber();
  };
  const renumber = () => [...rows.children].forEach((r, i) => replace(r.querySelector('legend'), `Rule ${i + 1}`));
  if (cur.choice === 'custom') b.lifecycleRules.forEach(addRow);
  const custom = h('div', { class: 'custom-rules' }, rows,
    h('button', { type: 'button', on: { click: () => addRow() } }, 'Add a rule'));
  const sync = () => {
    daysField.el.hidden = choice.value() !== 'days';
    custom.hidden = choice.value() !== 'custom';
    if (choice.value() === 'custom' && rows.children.length === 0) addRow();
  };
  choice.onChange(sync);
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Update Bucket');
  const form = h('form', { novalidate: true }, choice.el, daysField.el, custom, err,
    h('div', { class: 'actions' }, h('button', { type: 'button', on: { click: () => d.close() } }, 'Cancel'), submit));
  const d = dialog(`Lifecycle Settings: ${b.bucketName}`, form);
  sync();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errorBox(err, null);
    daysField.setError('');
    let rules;
    try {
      switch (choice.value()) {
        case 'all': rules = []; break;
        case 'last': rules = [{ fileNamePrefix: '', daysFromUploadingToHiding: null, daysFromHidingToDeleting: 1 }]; break;
        case 'days': {
          const n = days(daysInput.value, 'The number of days');
          if (n === null) throw new Error('Enter the number of days.');
          rules = [{ fileNamePrefix: '', daysFromUploadingToHiding: null, daysFromHidingToDeleting: n }];
          break;
        }
        default: rules = [...rows.children].map((r) => r.read());
      }
    } catch (ex) {
      if (choice.value() === 'days') daysField.setError(ex.message);
      else errorBox(err, ex.message);
      return;
    }
    await busy(submit, async () => {
      try {
        await api.call('b2_update_bucket', { accountId: api.accountId(), bucketId: b.bucketId, lifecycleRules: rules });
        announce('Lifecycle settings updated.');
        d.close();
        reload();
      } catch (ex) {
        errorBox(err, ex);
      }
    });
  });
}

// ---- CORS Rules ------------------------------------------------------------

const OPS = {
  native: ['b2_download_file_by_id', 'b2_download_file_by_name'],
  s3: ['s3_get', 's3_head'],
};
OPS.both = [...OPS.native, ...OPS.s3];

const ANY_NAME = 'downloadFromAnyOrigin';
const SOME_NAME = 'downloadFromOrigins';

function sameSet(a, b) {
  return a.length === b.length && a.every((x) => b.includes(x));
}

// corsChoice reads rules back into the simple choices, or 'custom'.
function corsChoice(rules) {
  if (!rules || rules.length === 0) return { share: 'none', api: 'both', origins: [] };
  if (rules.length === 1) {
    const r = rules[0];
    const api = Object.keys(OPS).find((k) => sameSet(OPS[k], r.allowedOperations));
    if (api && r.allowedHeaders.length === 1 && r.allowedHeaders[0] === '*') {
      if (r.corsRuleName === ANY_NAME && sameSet(r.allowedOrigins, ['*'])) return { share: 'all', api, origins: [] };
      if (r.corsRuleName === SOME_NAME && !r.allowedOrigins.includes('*')) return { share: 'some', api, origins: r.allowedOrigins };
    }
  }
  return { share: 'custom', api: 'both', origins: [] };
}

// corsSummary says who may use the bucket's files from a web page.
export function corsSummary(rules) {
  const c = corsChoice(rules);
  const apiName = { native: 'B2 Native API', s3: 'S3 Compatible API', both: 'B2 Native and S3 Compatible APIs' }[c.api];
  switch (c.share) {
    case 'none': return 'Not shared with other origins';
    case 'all': return `Shared with every origin (${apiName})`;
    case 'some': return `Shared with ${c.origins.join(', ')} (${apiName})`;
  }
  return `Custom CORS rules (${plural(rules.length, 'rule')})`;
}

// originProblem checks one origin as the user types it.
function originProblem(o) {
  if (o === 'https' || o === '*') return '';
  if (!/^https?:\/\/[^/?#\s]+$/.test(o)) return `"${o}" is not an origin like https://www.example.com (scheme and host, no path).`;
  return '';
}

export function corsDialog(b, reload) {
  const cur = corsChoice(b.corsRules);
  const share = radios('Share everything in this bucket', 'cors-share', [
    ['none', 'Do not share everything in this bucket'],
    ['all', 'Share everything in this bucket with every origin'],
    ['some', 'Share everything in this bucket with specific origins'],
    ['custom', 'Custom CORS rules (advanced)'],
  ], cur.share);
  const origins = h('textarea', { rows: '3', class: 'mono', spellcheck: 'false' });
  origins.value = cur.origins.join('\n');
  const originsField = field('Origins', origins, 'One origin per line, e.g. https://www.example.com (https alone: every HTTPS origin).');
  const apis = radios('Apply CORS rules to the following calls', 'cors-api', [
    ['native', 'B2 Native API'],
    ['s3', 'S3 Compatible API'],
    ['both', 'Both'],
  ], cur.api);
  const editor = h('textarea', { rows: '12', class: 'mono code', spellcheck: 'false' });
  editor.value = JSON.stringify(b.corsRules || [], null, 2);
  const editorField = field('CORS rules (JSON list of rules)', editor, 'The rules exactly as b2_update_bucket takes them in corsRules; the server checks them.');
  const simple = h('div', {}, originsField.el, apis.el);
  const sync = () => {
    originsField.el.hidden = share.value() !== 'some';
    apis.el.hidden = share.value() === 'none' || share.value() === 'custom';
    editorField.el.hidden = share.value() !== 'custom';
  };
  share.onChange(sync);
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Update CORS Rules');
  const form = h('form', { novalidate: true }, share.el, simple, editorField.el, err,
    h('div', { class: 'actions' }, h('button', { type: 'button', on: { click: () => d.close() } }, 'Cancel'), submit));
  const d = dialog(`CORS Rules: ${b.bucketName}`, form);
  sync();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errorBox(err, null);
    originsField.setError('');
    editorField.setError('');
    let rules;
    const mode = share.value();
    const target = mode === 'custom' ? editorField : mode === 'some' ? originsField : null;
    if (mode === 'none') rules = [];
    else if (mode === 'all' || mode === 'some') {
      let list = ['*'];
      if (mode === 'some') {
        list = origins.value.split(/[\s,]+/).map((o) => o.trim()).filter(Boolean);
        const problem = list.length === 0 ? 'Enter at least one origin.' : list.map(originProblem).find(Boolean);
        if (problem) {
          originsField.setError(problem);
          origins.focus();
          return;
        }
      }
      rules = [{
        corsRuleName: mode === 'all' ? ANY_NAME : SOME_NAME, allowedOrigins: list,
        allowedOperations: OPS[apis.value()], allowedHeaders: ['*'], exposeHeaders: [], maxAgeSeconds: 3600,
      }];
    } else {
      try {
        rules = JSON.parse(editor.value);
      } catch (ex) {
        editorField.setError(`This is not valid JSON: ${ex.message}`);
        editor.focus();
        return;
      }
      if (!Array.isArray(rules)) {
        editorField.setError('The rules must be a JSON list: [ {...}, ... ].');
        editor.focus();
        return;
      }
    }
    await busy(submit, async () => {
      try {
        await api.call('b2_update_bucket', { accountId: api.accountId(), bucketId: b.bucketId, corsRules: rules });
        announce('CORS rules updated.');
        d.close();
        reload();
      } catch (ex) {
        // The server's validation message belongs next to what it judged.
        if (target && ex instanceof api.B2Error && ex.status === 400) {
          target.setError(api.readable(ex));
          target.control.focus();
        } else {
          errorBox(err, ex);
        }
      }
    });
  });
}

// ---- Object Lock -----------------------------------------------------------

// retentionSummary says a default retention ("governance, 30 days").
export function retentionSummary(r) {
  if (!r || !r.mode) return '';
  return `${r.mode}, ${plural(r.period.duration, r.period.unit.replace(/s$/, ''))}`;
}

export function objectLockDialog(b, reload) {
  const cur = b.fileLockConfiguration.value.defaultRetention || {};
  const mode = radios('Default retention policy', 'lock-mode', [
    ['none', 'None', 'New files are not protected unless their upload asks for it.'],
    ['governance', 'Governance', 'Keys with bypassGovernance can still shorten or remove the retention.'],
    ['compliance', 'Compliance', 'Nobody can shorten or remove the retention, nor delete the file, until it ends.'],
  ], cur.mode || 'none');
  const durationId = uid('dur');
  const duration = h('input', { id: durationId, type: 'number', min: '1', inputmode: 'numeric', value: String(cur.period ? cur.period.duration : 30), class: 'narrow' });
  const unit = h('select', { 'aria-label': 'Period unit' },
    h('option', { value: 'days', selected: !cur.period || cur.period.unit === 'days' }, 'days'),
    h('option', { value: 'years', selected: !!cur.period && cur.period.unit === 'years' }, 'years'));
  const periodField = field('Retention period', duration);
  periodField.el.insertBefore(h('div', { class: 'inline' }, duration, unit), periodField.el.querySelector('.field-error'));
  const sync = () => { periodField.el.hidden = mode.value() === 'none'; };
  mode.onChange(sync);
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Update Bucket');
  const form = h('form', { novalidate: true }, mode.el, periodField.el, err,
    h('div', { class: 'actions' }, h('button', { type: 'button', on: { click: () => d.close() } }, 'Cancel'), submit));
  const d = dialog(`Object Lock: ${b.bucketName}`, form);
  sync();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errorBox(err, null);
    periodField.setError('');
    let defaultRetention = { mode: null };
    if (mode.value() !== 'none') {
      const n = Number(duration.value);
      if (!Number.isInteger(n) || n < 1) {
        periodField.setError('Enter a whole number of days or years.');
        duration.focus();
        return;
      }
      defaultRetention = { mode: mode.value(), period: { duration: n, unit: unit.value } };
    }
    await busy(submit, async () => {
      try {
        await api.call('b2_update_bucket', { accountId: api.accountId(), bucketId: b.bucketId, defaultRetention });
        announce('Object Lock default retention updated.');
        d.close();
        reload();
      } catch (ex) {
        errorBox(err, ex);
      }
    });
  });
}
