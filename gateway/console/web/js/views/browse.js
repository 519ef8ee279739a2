// views/browse.js — Browse Files: folders by the '/' delimiter with
// breadcrumbs, pages of files loaded as the user scrolls (a folder of
// 100,000 files opens as fast as one of 10), a toggle that shows hidden
// files and every version, selection to download, hide or delete, New
// Folder and Upload into the folder being browsed.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';
import { confirm, dialog, field, errorBox, busy, announce } from '../ui.js';
import { bytes, date, plural } from '../format.js';
import { folderNameProblem } from '../names.js';
import * as details from './file_details.js';
import { uploads, uploadDialog, dropTarget } from './upload_panel.js';

// PAGE is the rows one listing call brings.
const PAGE = 100;
// EMPTY marks a folder made with New Folder (Backblaze's console does the
// same): a zero-byte file the listing does not show.
const EMPTY = '.bzEmpty';

const href = (bucket, prefix) => `#/browse/${encodeURIComponent(bucket)}${prefix ? '/' + encodeURIComponent(prefix) : ''}`;

export function render(main, params) {
  const [bucketName, rawPrefix = ''] = params;
  if (!bucketName) return chooseBucket(main);
  const state = { alive: true };
  load(main, bucketName, rawPrefix, state);
  return () => { state.alive = false; if (state.cleanup) state.cleanup(); };
}

// chooseBucket lists the buckets to browse.
function chooseBucket(main) {
  const list = h('ul', { class: 'bucket-choice' }, h('li', { class: 'loading' }, 'Loading buckets…'));
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  replace(main, h('h1', {}, 'Browse Files'), h('p', {}, 'Choose a bucket.'), err, list);
  api.listBuckets().then((bs) => {
    if (bs.length === 1) {
      location.replace(href(bs[0].bucketName, ''));
      return;
    }
    replace(list, bs.length ? bs.map((b) => h('li', {}, h('a', { href: href(b.bucketName, ''), class: 'mono' }, b.bucketName)))
      : h('li', { class: 'empty' }, 'No buckets.'));
  }).catch((e) => { replace(list); errorBox(err, e); });
}

async function load(main, bucketName, rawPrefix, state) {
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  replace(main, h('h1', {}, 'Browse Files'), err, h('p', { class: 'loading' }, 'Loading…'));
  let bucket;
  try {
    bucket = await api.bucketByName(bucketName);
  } catch (e) {
    errorBox(err, e);
    return;
  }
  if (!state.alive) return;
  if (!bucket) {
    replace(main, h('h1', {}, 'Browse Files'), h('p', { class: 'error', role: 'alert' }, `There is no bucket named ${bucketName} that this key may see.`));
    return;
  }
  // A key restricted to a name prefix may list only under it.
  const keyPrefix = session.get().allowed.namePrefix || '';
  const prefix = rawPrefix.startsWith(keyPrefix) ? rawPrefix : keyPrefix;
  new Browser(main, bucket, prefix, state).show();
}

class Browser {
  constructor(main, bucket, prefix, state) {
    this.main = main;
    this.bucket = bucket;
    this.prefix = prefix;
    this.state = state;
    this.versions = sessionStorage.getItem('coffer.showVersions') === '1';
    this.rows = new Map(); // key → entry
    this.selected = new Set();
    this.next = null;
  }

  show() {
    const b = this.bucket;
    const canList = session.can('listFiles');
    const canWrite = session.can('writeFiles');
    this.err = h('p', { class: 'error', role: 'alert', hidden: true });
    this.note = h('p', { class: 'notice', role: 'status', hidden: true });
    this.tbody = h('tbody');
    this.more = h('button', { type: 'button', hidden: true, on: { click: () => this.page() } }, 'Load more');
    this.count = h('p', { class: 'count', role: 'status' });
    this.selectAll = h('input', { type: 'checkbox', 'aria-label': 'Select all', on: { change: () => this.toggleAll() } });
    this.dl = h('button', { type: 'button', disabled: true, on: { click: (e) => busy(e.target, () => this.download()) } }, 'Download');
    this.hide = h('button', { type: 'button', disabled: true, on: { click: (e) => busy(e.target, () => this.hideSelected()) } }, 'Hide');
    this.del = h('button', { type: 'button', class: 'danger-text', disabled: true, on: { click: (e) => busy(e.target, () => this.deleteSelected()) } }, 'Delete');
    const toggle = h('input', { type: 'checkbox', checked: this.versions, on: { change: (e) => { this.versions = e.target.checked; sessionStorage.setItem('coffer.showVersions', this.versions ? '1' : '0'); this.reset(); } } });
    const head = h('tr', {},
      h('th', { class: 'sel' }, this.selectAll),
      h('th', { scope: 'col' }, 'Name'),
      h('th', { scope: 'col', class: 'num' }, 'Size'),
      h('th', { scope: 'col', class: 'hide-narrow' }, 'Type'),
      h('th', { scope: 'col', class: 'hide-narrow' }, 'Uploaded'));
    const table = h('table', { class: 'files', 'aria-label': `Files in ${b.bucketName}/${this.prefix}` }, h('thead', {}, head), this.tbody);
    const toolbar = h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': 'File actions' },
      canWrite && h('button', { type: 'button', class: 'primary', on: { click: () => uploadDialog(b, this.prefix) } }, 'Upload'),
      canWrite && h('button', { type: 'button', on: { click: () => this.newFolder() } }, 'New Folder'),
      session.can('readFiles') && this.dl,
      canWrite && this.hide,
      session.can('deleteFiles') && this.del,
      canList && h('label', { class: 'check toggle' }, toggle, h('span', {}, 'Show hidden files and all versions')));
    const drop = h('div', { class: 'browse' },
      this.breadcrumbs(), toolbar, this.err, this.note,
      canList ? [h('div', { class: 'table-wrap' }, table), this.count, this.more]
        : h('p', { class: 'notice' }, 'This key cannot list files (no listFiles capability); you can still upload.'));
    replace(this.main, h('h1', {}, 'Browse Files'), drop);
    if (canWrite) {
      dropTarget(drop, (files) => uploads.add(files, b, this.prefix));
    }
    // Uploads into this folder show up when they end.
    const off = uploads.onEnded((u) => {
      if (u.state === 'done' && u.bucket.bucketId === b.bucketId && u.name.startsWith(this.prefix)) this.refreshSoon();
    });
    // Keep loading pages as the user scrolls to the end.
    const io = new IntersectionObserver((es) => {
      if (es.some((e) => e.isIntersecting) && !this.more.hidden && !this.loading) this.page();
    });
    io.observe(this.more);
    this.state.cleanup = () => { off(); io.disconnect(); clearTimeout(this.timer); };
    if (canList) this.reset();
  }

  breadcrumbs() {
    const b = this.bucket.bucketName;
    const parts = this.prefix.split('/').slice(0, -1);
    const crumbs = [h('li', {}, h('a', { href: '#/browse' }, 'Buckets'))];
    crumbs.push(h('li', {}, parts.length ? h('a', { href: href(b, ''), class: 'mono' }, b) : h('span', { class: 'mono', 'aria-current': 'page' }, b)));
    let acc = '';
    parts.forEach((p, i) => {
      acc += p + '/';
      crumbs.push(h('li', {}, i === parts.length - 1
        ? h('span', { class: 'mono', 'aria-current': 'page' }, p)
        : h('a', { href: href(b, acc), class: 'mono' }, p)));
    });
    return h('nav', { class: 'breadcrumbs', 'aria-label': 'Folder' }, h('ol', {}, crumbs));
  }

  refreshSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reset(), 300);
  }

  reset() {
    this.rows.clear();
    this.selected.clear();
    replace(this.tbody);
    this.next = { startFileName: null, startFileId: null };
    this.updateSelection();
    this.page();
  }

  // page loads the next page of the listing.
  async page() {
    if (!this.next || this.loading) return;
    this.loading = true;
    this.more.hidden = true;
    const q = { bucketId: this.bucket.bucketId, prefix: this.prefix, delimiter: '/', maxFileCount: PAGE };
    if (this.next.startFileName !== null) q.startFileName = this.next.startFileName;
    if (this.versions && this.next.startFileId) q.startFileId = this.next.startFileId;
    try {
      const r = await api.call(this.versions ? 'b2_list_file_versions' : 'b2_list_file_names', q);
      if (!this.state.alive) return;
      errorBox(this.err, null);
      for (const f of r.files) {
        if (!this.versions && (f.fileName.endsWith('/' + EMPTY) || f.fileName === EMPTY)) continue;
        this.addRow(f);
      }
      this.next = r.nextFileName ? { startFileName: r.nextFileName, startFileId: r.nextFileId || null } : null;
    } catch (e) {
      errorBox(this.err, e);
      this.next = null;
    } finally {
      this.loading = false;
    }
    this.more.hidden = !this.next;
    const n = this.rows.size;
    replace(this.count, n === 0 ? 'This folder is empty.' : `${plural(n, this.versions ? 'entry' : 'item', this.versions ? 'entries' : 'items')}${this.next ? ', more below' : ''}`);
  }

  addRow(f) {
    const key = f.action === 'folder' ? `folder:${f.fileName}` : f.fileId;
    if (this.rows.has(key)) return;
    this.rows.set(key, f);
    const short = f.fileName.slice(this.prefix.length);
    const box = h('input', { type: 'checkbox', 'aria-label': `Select ${short}`, on: { change: (e) => this.select(key, e.target.checked) } });
    let name;
    if (f.action === 'folder') {
      name = h('a', { href: href(this.bucket.bucketName, f.fileName), class: 'mono folder' }, short);
    } else {
      name = h('button', { type: 'button', class: 'link mono', on: { click: () => details.open(this.bucket, f) } }, short);
    }
    const badge = f.action === 'hide' ? h('span', { class: 'badge hidden-marker' }, 'hidden')
      : f.action === 'start' ? h('span', { class: 'badge' }, 'unfinished upload') : null;
    const tr = h('tr', { dataset: { name: f.fileName, action: f.action } },
      h('td', { class: 'sel' }, box),
      h('td', { class: 'name' }, name, badge),
      h('td', { class: 'num' }, f.action === 'upload' ? bytes(f.contentLength) : ''),
      h('td', { class: 'hide-narrow' }, f.action === 'folder' ? 'Folder' : f.action === 'hide' ? '' : f.contentType),
      h('td', { class: 'hide-narrow' }, f.action === 'folder' ? '' : date(f.uploadTimestamp)));
    this.tbody.appendChild(tr);
  }

  select(key, on) {
    if (on) this.selected.add(key);
    else this.selected.delete(key);
    this.updateSelection();
  }

  toggleAll() {
    const on = this.selectAll.checked;
    for (const box of this.tbody.querySelectorAll('input[type=checkbox]')) box.checked = on;
    this.selected = on ? new Set(this.rows.keys()) : new Set();
    this.updateSelection();
  }

  picked() {
    return [...this.selected].map((k) => this.rows.get(k)).filter(Boolean);
  }

  updateSelection() {
    const sel = this.picked();
    const files = sel.filter((f) => f.action === 'upload');
    this.dl.disabled = files.length === 0;
    this.hide.disabled = sel.filter((f) => f.action !== 'hide').length === 0;
    this.del.disabled = sel.length === 0;
    this.selectAll.checked = sel.length > 0 && sel.length === this.rows.size;
    this.selectAll.indeterminate = sel.length > 0 && sel.length < this.rows.size;
  }

  async download() {
    const files = this.picked().filter((f) => f.action === 'upload');
    for (const f of files) {
      try {
        await api.download(f);
      } catch (e) {
        errorBox(this.err, e);
        return;
      }
    }
    announce(`Downloading ${plural(files.length, 'file')}.`);
  }

  // each lists every file (names) or version under prefix, page by page.
  async each(call, prefix, fn) {
    let start = null;
    let startId = null;
    for (;;) {
      const q = { bucketId: this.bucket.bucketId, prefix, maxFileCount: 1000 };
      if (start !== null) q.startFileName = start;
      if (startId) q.startFileId = startId;
      const r = await api.call(call, q);
      for (const f of r.files) await fn(f);
      if (!r.nextFileName) return;
      start = r.nextFileName;
      startId = r.nextFileId || null;
    }
  }

  // versionsOf lists every version of one name: they come first from
  // startFileName = name, newest first, and end where another name starts.
  async versionsOf(name) {
    const out = [];
    let startId = null;
    for (;;) {
      const q = { bucketId: this.bucket.bucketId, prefix: name, startFileName: name, maxFileCount: 1000 };
      if (startId) q.startFileId = startId;
      const r = await api.call('b2_list_file_versions', q);
      for (const f of r.files) {
        if (f.fileName !== name) return out;
        out.push(f);
      }
      if (r.nextFileName !== name || !r.nextFileId) return out;
      startId = r.nextFileId;
    }
  }

  async hideSelected() {
    const sel = this.picked().filter((f) => f.action !== 'hide');
    const names = new Set(sel.filter((f) => f.action !== 'folder').map((f) => f.fileName));
    const folders = sel.filter((f) => f.action === 'folder');
    const what = [names.size && plural(names.size, 'file'), folders.length && `${plural(folders.length, 'folder')} (every file in them)`].filter(Boolean).join(' and ');
    if (!await confirm('Hide files?', `Hide ${what}? Hidden files stay as prior versions until lifecycle rules delete them.`, 'Hide', { danger: false })) return;
    await this.run('Hiding', async (act) => {
      for (const n of names) await act(n, () => api.call('b2_hide_file', { bucketId: this.bucket.bucketId, fileName: n }));
      for (const d of folders) {
        await this.each('b2_list_file_names', d.fileName, (f) => act(f.fileName, () => api.call('b2_hide_file', { bucketId: this.bucket.bucketId, fileName: f.fileName })));
      }
    });
  }

  async deleteSelected() {
    const sel = this.picked();
    let what;
    if (this.versions) {
      what = `${plural(sel.filter((f) => f.action !== 'folder').length, 'version')}${sel.some((f) => f.action === 'folder') ? ' and every version in the selected folders' : ''}`;
    } else {
      what = `${plural(sel.filter((f) => f.action !== 'folder').length, 'file')} with all their versions${sel.some((f) => f.action === 'folder') ? ', and every file in the selected folders' : ''}`;
    }
    if (!await confirm('Delete files?', `Delete ${what}? This cannot be undone.`, 'Delete')) return;
    const delVersion = (f) => api.call('b2_delete_file_version', { fileName: f.fileName, fileId: f.fileId });
    await this.run('Deleting', async (act) => {
      for (const f of sel) {
        if (f.action === 'folder') {
          await this.each('b2_list_file_versions', f.fileName, (v) => act(v.fileName, () => delVersion(v)));
        } else if (this.versions) {
          await act(f.fileName, () => delVersion(f));
        } else {
          // Every version of this name: the listing is by name, newest first.
          for (const v of await this.versionsOf(f.fileName)) await act(v.fileName, () => delVersion(v));
        }
      }
    });
  }

  // run performs a batch, telling progress and failures, then reloads.
  async run(verb, batch) {
    let done = 0;
    const failures = [];
    errorBox(this.err, null);
    this.note.hidden = false;
    const act = async (name, fn) => {
      try {
        await fn();
        done++;
        replace(this.note, `${verb}… ${done} done`);
      } catch (e) {
        if (api.authExpired(e)) throw e;
        failures.push(`${name}: ${api.readable(e)}`);
      }
    };
    try {
      await batch(act);
    } catch (e) {
      failures.push(api.readable(e));
    }
    replace(this.note, `${verb} finished: ${done} done${failures.length ? `, ${failures.length} failed` : ''}.`);
    if (failures.length) errorBox(this.err, failures.slice(0, 5).join(' ') + (failures.length > 5 ? ` (and ${failures.length - 5} more)` : ''));
    this.reset();
  }

  newFolder() {
    const input = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', class: 'mono' });
    const f = field('Folder name', input, `The folder is made in ${this.bucket.bucketName}/${this.prefix}`);
    const err = h('p', { class: 'error', role: 'alert', hidden: true });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Create Folder');
    const form = h('form', { novalidate: true }, f.el, err,
      h('div', { class: 'actions' }, h('button', { type: 'button', on: { click: () => d.close() } }, 'Cancel'), submit));
    const d = dialog('New Folder', form);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const problem = folderNameProblem(input.value);
      f.setError(problem);
      if (problem) return;
      await busy(submit, async () => {
        try {
          const u = await api.call('b2_get_upload_url', { bucketId: this.bucket.bucketId });
          // The SHA-1 of nothing.
          await api.xhrPost(u.uploadUrl, {
            Authorization: u.authorizationToken,
            'X-Bz-File-Name': api.encodeName(`${this.prefix}${input.value}/${EMPTY}`),
            'Content-Type': 'application/x-bz-empty',
            'X-Bz-Content-Sha1': 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
          }, new Blob([]));
          d.close();
          announce(`Folder ${input.value} created.`);
          this.reset();
        } catch (ex) {
          errorBox(err, ex);
        }
      });
    });
    input.focus();
  }
}
