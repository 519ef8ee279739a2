// views/upload_panel.js — the Uploads panel, docked at the bottom of every
// page so uploads go on while the user browses: a progress bar per file
// and one overall, Cancel, Retry, and the Upload dialog (drag and drop or a
// file picker) that feeds it.

import { h, replace } from '../dom.js';
import { FileUpload, Queue } from '../uploader.js';
import { dialog } from '../ui.js';
import { bytes, plural } from '../format.js';

const queue = new Queue(2);

const overall = h('progress', { max: '1', value: '0', 'aria-label': 'Overall upload progress' });
const summary = h('span', { class: 'summary', role: 'status' });
const list = h('ul', { class: 'upload-list' });
const toggle = h('button', { type: 'button', class: 'link', 'aria-expanded': 'true', 'aria-controls': 'upload-list' }, 'Hide');
list.id = 'upload-list';
const clear = h('button', { type: 'button', class: 'link', on: { click: () => queue.clear() } }, 'Clear finished');
const el = h('section', { class: 'uploads', 'aria-label': 'Uploads', hidden: true },
  h('header', {}, h('h2', {}, 'Uploads'), summary, overall, clear, toggle), list);
toggle.addEventListener('click', () => {
  const open = toggle.getAttribute('aria-expanded') !== 'true';
  toggle.setAttribute('aria-expanded', String(open));
  list.hidden = !open;
  replace(toggle, open ? 'Hide' : 'Show');
});

const rows = new Map(); // FileUpload → row

function row(u) {
  const bar = h('progress', { max: String(Math.max(u.total, 1)), value: '0', 'aria-label': `Progress of ${u.name}` });
  const status = h('span', { class: 'status' });
  const cancel = h('button', { type: 'button', class: 'link', 'aria-label': `Cancel ${u.name}`, on: { click: () => u.cancel() } }, 'Cancel');
  const retry = h('button', {
    type: 'button', class: 'link', 'aria-label': `Retry ${u.name}`, hidden: true,
    on: { click: () => queue.add(new FileUpload(u.file, u.bucket, u.name)) },
  }, 'Retry');
  const r = h('li', { class: 'upload', dataset: { name: u.name } },
    h('span', { class: 'name mono', title: u.name }, u.name), bar, status, cancel, retry);
  r.update = () => {
    bar.value = u.state === 'done' ? Math.max(u.total, 1) : u.sent;
    r.dataset.state = u.state;
    let text;
    switch (u.state) {
      case 'queued': text = 'Waiting'; break;
      case 'uploading': text = `${u.phase}… ${bytes(u.sent)} of ${bytes(u.total)}`; break;
      case 'done': text = `Done, ${bytes(u.total)}`; break;
      case 'cancelled': text = 'Cancelled'; break;
      default: text = `Failed: ${u.error}`;
    }
    replace(status, text);
    cancel.hidden = !u.active();
    retry.hidden = u.state !== 'failed';
  };
  return r;
}

function render() {
  const items = queue.items;
  el.hidden = items.length === 0;
  for (const [u, r] of rows) {
    if (!items.includes(u)) {
      r.remove();
      rows.delete(u);
    }
  }
  let total = 0;
  let sent = 0;
  let done = 0;
  for (const u of items) {
    if (!rows.has(u)) {
      const r = row(u);
      rows.set(u, r);
      list.appendChild(r);
    }
    rows.get(u).update();
    if (u.state !== 'cancelled') {
      total += u.total;
      sent += u.state === 'done' ? u.total : u.sent;
    }
    if (u.state === 'done') done++;
  }
  overall.max = Math.max(total, 1);
  overall.value = sent;
  replace(summary, `${done} of ${plural(items.length, 'file')} done, ${bytes(sent)} of ${bytes(total)}`);
}

let scheduled = false;
queue.addEventListener('change', () => {
  // Progress events come fast: draw at most once a frame.
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    render();
  });
});

export const uploads = {
  el,
  // add queues files for bucket under prefix (the folder being browsed).
  add(files, bucket, prefix) {
    for (const f of files) queue.add(new FileUpload(f, bucket, prefix + f.name));
    render();
  },
  // onEnded calls fn(upload) whenever an upload ends; it returns a function
  // that stops the calls.
  onEnded(fn) {
    const l = (e) => fn(e.detail);
    queue.addEventListener('ended', l);
    return () => queue.removeEventListener('ended', l);
  },
  cancelAll() {
    queue.cancelAll();
    queue.clear();
  },
};

// uploadDialog is Upload: drop files on it, or select them.
export function uploadDialog(bucket, prefix) {
  const input = h('input', { type: 'file', multiple: true, id: 'upload-input', name: 'files' });
  const zone = h('div', { class: 'dropzone' },
    h('p', {}, 'Drop files here to upload them to ', h('strong', { class: 'mono' }, `${bucket.bucketName}/${prefix}`)),
    h('p', {}, 'or'),
    h('label', { for: 'upload-input', class: 'button primary' }, 'Select files'),
    input);
  const d = dialog('Upload', zone,
    h('p', { class: 'help' }, 'Files larger than the recommended part size go up in parallel parts; every file is checked with its SHA-1.'));
  const take = (files) => {
    if (!files || files.length === 0) return;
    uploads.add([...files], bucket, prefix);
    d.close();
  };
  input.addEventListener('change', () => take(input.files));
  dropTarget(zone, take);
  return d;
}

// dropTarget makes el accept dropped files.
export function dropTarget(el, take) {
  el.addEventListener('dragover', (e) => {
    if ([...e.dataTransfer.types].includes('Files')) {
      e.preventDefault();
      el.classList.add('dragging');
    }
  });
  el.addEventListener('dragleave', () => el.classList.remove('dragging'));
  el.addEventListener('drop', (e) => {
    e.preventDefault();
    el.classList.remove('dragging');
    take([...e.dataTransfer.files]);
  });
}
