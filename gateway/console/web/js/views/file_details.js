// views/file_details.js — a file's details, with the seed's fields (Name,
// Bucket Name, Bucket Type, Friendly URL, S3 URL, Native URL, Kind, Size,
// Uploaded, Fguid, Sha1, File Info, Encryption, and retention / legal hold
// where set), and for a private bucket Share: a time-limited link from
// b2_get_download_authorization.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';
import { dialog, dl, field, errorBox, busy, copyValue } from '../ui.js';
import { bytes, date } from '../format.js';
import { typeName } from './buckets.js';

// urls are the three ways to reach a file.
export function fileURLs(bucket, f) {
  const s = session.get();
  const name = api.encodeName(f.fileName);
  const b = encodeURIComponent(bucket.bucketName);
  return {
    friendly: `${s.downloadUrl}/file/${b}/${name}`,
    s3: `${s.s3ApiUrl}/${b}/${name}`,
    native: `${s.downloadUrl}/b2api/v1/b2_download_file_by_id?fileId=${encodeURIComponent(f.fileId)}`,
  };
}

function link(url, isPublic) {
  return isPublic
    ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', class: 'mono url' }, url)
    : h('span', { class: 'mono url' }, url);
}

function infoList(info) {
  const keys = Object.keys(info || {}).sort();
  if (keys.length === 0) return 'none';
  return h('ul', { class: 'file-info' }, keys.map((k) => {
    const v = info[k];
    const when = k === 'src_last_modified_millis' && /^\d+$/.test(v) ? ` (${date(Number(v))})` : '';
    return h('li', {}, h('span', { class: 'mono' }, k), ': ', h('span', { class: 'mono' }, v), when);
  }));
}

function retention(f) {
  const r = f.fileRetention;
  if (!r || !r.isClientAuthorizedToRead || !r.value || !r.value.mode) return null;
  return `${r.value.mode} until ${date(r.value.retainUntilTimestamp)}`;
}

function legalHold(f) {
  const l = f.legalHold;
  if (!l || !l.isClientAuthorizedToRead || !l.value) return null;
  return l.value;
}

function sha1Of(f) {
  if (f.contentSha1 && f.contentSha1 !== 'none') return f.contentSha1.replace(/^unverified:/, '');
  if (f.fileInfo && f.fileInfo.large_file_sha1) return f.fileInfo.large_file_sha1;
  return f.action === 'upload' ? 'none (a large file: each part was checked with its own SHA-1)' : 'none';
}

function encryptionOf(f) {
  const e = f.serverSideEncryption;
  if (!e || !e.mode || e.mode === 'none') return 'None';
  return `${e.mode}${e.algorithm ? ` (${e.algorithm})` : ''}`;
}

// details renders the fields of a file version.
export function details(bucket, f) {
  const pub = bucket.bucketType === 'allPublic';
  const u = fileURLs(bucket, f);
  return dl([
    ['Name', h('span', { class: 'mono name' }, f.fileName)],
    ['Bucket Name', h('span', { class: 'mono' }, bucket.bucketName)],
    ['Bucket Type', `${typeName(bucket.bucketType)}${pub ? ' (anyone with a URL can download the file)' : ' (downloads need authentication; use Share for a link)'}`],
    ['Friendly URL', link(u.friendly, pub)],
    ['S3 URL', link(u.s3, pub)],
    ['Native URL', link(u.native, pub)],
    ['Kind', f.action === 'hide' ? 'hide marker' : f.contentType],
    ['Size', f.contentLength < 1000 ? bytes(f.contentLength) : `${bytes(f.contentLength)} (${f.contentLength.toLocaleString()} bytes)`],
    ['Uploaded', date(f.uploadTimestamp)],
    ['Fguid', h('span', { class: 'mono' }, f.fileId)],
    ['Sha1', h('span', { class: 'mono' }, sha1Of(f))],
    ['File Info', infoList(f.fileInfo)],
    ['Encryption', encryptionOf(f)],
    ['Retention', retention(f)],
    ['Legal Hold', legalHold(f)],
  ]);
}

// open shows a file's details; actions act on this version.
export async function open(bucket, f, { onChanged } = {}) {
  const body = h('div', { class: 'file-details' }, details(bucket, f));
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const share = h('div', { class: 'share' });
  const canShare = bucket.bucketType !== 'allPublic' && session.can('shareFiles') && f.action === 'upload';
  const actions = h('div', { class: 'actions wrap' },
    f.action === 'upload' && session.can('readFiles') && h('button', {
      type: 'button', on: { click: (e) => busy(e.target, () => api.download(f).catch((ex) => errorBox(err, ex))) },
    }, 'Download'),
    canShare && h('button', { type: 'button', on: { click: () => shareForm(bucket, f, share) } }, 'Share'));
  const d = dialog('File Details', body, err, share, actions);
  // The listing's copy may lack what only the file itself carries
  // (retention, legal hold): read it fresh.
  if (session.can('readFiles') && f.action !== 'folder') {
    try {
      const fresh = await api.call('b2_get_file_info', { fileId: f.fileId });
      if (d.el.open) replace(body, details(bucket, fresh));
    } catch (ex) {
      if (!(ex instanceof api.B2Error && ex.status === 404)) errorBox(err, ex);
    }
  }
  d.el.addEventListener('close', () => onChanged && onChanged());
  return d;
}

// shareForm makes a time-limited link to a file of a private bucket.
function shareForm(bucket, f, el) {
  const dur = h('select', {},
    h('option', { value: '3600' }, '1 hour'),
    h('option', { value: '86400', selected: true }, '1 day'),
    h('option', { value: '604800' }, '7 days'));
  const make = h('button', { type: 'button', class: 'primary' }, 'Create Link');
  const out = h('div', { class: 'share-out' });
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  replace(el, h('h3', {}, 'Share'), field('Link valid for', dur).el, h('div', { class: 'actions' }, make), err, out);
  make.addEventListener('click', () => busy(make, async () => {
    errorBox(err, null);
    try {
      const a = await api.call('b2_get_download_authorization', {
        bucketId: bucket.bucketId, fileNamePrefix: f.fileName, validDurationInSeconds: Number(dur.value),
      });
      const url = `${fileURLs(bucket, f).friendly}?Authorization=${encodeURIComponent(a.authorizationToken)}`;
      const until = date(Date.now() + Number(dur.value) * 1000);
      replace(out, copyValue('Share link', url), h('p', { class: 'help' }, `Anyone with this link can download the file until ${until}.`));
    } catch (ex) {
      errorBox(err, ex);
    }
  }));
  dur.focus();
}
