// uploader.js — uploads files to a bucket as B2 clients should: one
// b2_upload_file per file up to the recommended part size, the large-file
// API above it (parts in parallel, each with its SHA-1, a failed part
// retried on a fresh upload URL), a SHA-1 sent with every upload and part,
// and src_last_modified_millis from the file's last-modified time. Files
// are sent as Blob slices, so a file of any size (5 GiB and more) is read
// from disk as it goes and never held in memory.

import * as api from './api.js';
import * as session from './session.js';
import { sha1Blob } from './sha1.js';

// PART_WORKERS is how many parts of one large file are in flight at once.
const PART_WORKERS = 3;
// ATTEMPTS bounds the tries of one upload or part.
const ATTEMPTS = 5;
// MAX_PARTS is B2's limit on the parts of a large file.
const MAX_PARTS = 10000;

// retryable: B2 says to retry with a new upload URL after a network error,
// a timeout, 5xx, 429, or an upload token that expired or is busy.
function retryable(err) {
  if (err instanceof TypeError) return true;
  if (!(err instanceof api.B2Error)) return false;
  return err.status >= 500 || err.status === 408 || err.status === 429 ||
    (err.status === 401 && err.code === 'expired_auth_token') || err.code === 'auth_token_limit';
}

const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  if (signal) signal.addEventListener('abort', () => { clearTimeout(t); reject(new DOMException('cancelled', 'AbortError')); }, { once: true });
});

// URL pools: an upload URL serves one upload at a time and may be reused.
const pools = new Map(); // bucketId → [{uploadUrl, authorizationToken}]

async function takeURL(bucketId) {
  const pool = pools.get(bucketId) || [];
  pools.set(bucketId, pool);
  return pool.pop() || api.call('b2_get_upload_url', { bucketId });
}

function giveURL(bucketId, u) {
  pools.get(bucketId).push(u);
}

// FileUpload is one file on its way to a bucket. It dispatches 'change'
// whenever its state or progress moves. States: queued, uploading, done,
// failed, cancelled.
export class FileUpload extends EventTarget {
  constructor(file, bucket, name) {
    super();
    this.file = file;
    this.bucket = bucket; // {bucketId, bucketName}
    this.name = name;
    this.total = file.size;
    this.sent = 0;
    this.state = 'queued';
    this.phase = '';
    this.error = '';
    this.fileId = '';
    this.large = file.size > session.get().recommendedPartSize;
    this.abort = new AbortController();
  }

  set(state, phase) {
    this.state = state;
    if (phase !== undefined) this.phase = phase;
    this.dispatchEvent(new Event('change'));
  }

  active() {
    return this.state === 'queued' || this.state === 'uploading';
  }

  // run uploads the file; it never throws (the state says how it ended).
  async run() {
    if (this.state !== 'queued') return;
    this.set('uploading', 'Starting');
    try {
      if (this.large) await this.runLarge();
      else await this.runSmall();
      this.sent = this.total;
      this.set('done', '');
    } catch (err) {
      if (this.abort.signal.aborted) {
        await this.cancelLarge();
        this.set('cancelled', '');
      } else {
        this.error = api.readable(err);
        await this.cancelLarge();
        this.set('failed', '');
      }
    }
  }

  // cancel stops the upload; an unfinished large file is cancelled on the
  // server (b2_cancel_large_file) so its parts do not linger.
  cancel() {
    if (!this.active()) return;
    if (this.state === 'queued') {
      this.set('cancelled', '');
      return;
    }
    this.abort.abort();
  }

  async cancelLarge() {
    if (!this.fileId || this.state === 'done' || this.finished) return;
    try {
      await api.call('b2_cancel_large_file', { fileId: this.fileId });
    } catch {
      // Lifecycle rules or a later cancel clean it up; nothing to tell.
    }
    this.fileId = '';
  }

  info() {
    return { src_last_modified_millis: String(this.file.lastModified) };
  }

  async runSmall() {
    const signal = this.abort.signal;
    this.set('uploading', 'Checking');
    const sha = await sha1Blob(this.file, null, signal);
    this.set('uploading', 'Uploading');
    for (let attempt = 1; ; attempt++) {
      let u;
      try {
        u = await takeURL(this.bucket.bucketId);
        const f = await api.xhrPost(u.uploadUrl, {
          Authorization: u.authorizationToken,
          'X-Bz-File-Name': api.encodeName(this.name),
          'Content-Type': this.file.type || 'b2/x-auto',
          'X-Bz-Content-Sha1': sha,
          'X-Bz-Info-src_last_modified_millis': String(this.file.lastModified),
        }, this.file, (n) => { this.sent = n; this.dispatchEvent(new Event('change')); }, signal);
        giveURL(this.bucket.bucketId, u);
        this.fileId = f.fileId;
        return;
      } catch (err) {
        this.sent = 0;
        if (signal.aborted || !retryable(err) || attempt >= ATTEMPTS) throw err;
        this.set('uploading', `Retrying (attempt ${attempt + 1})`);
        await sleep(500 * 2 ** (attempt - 1), signal);
      }
    }
  }

  async runLarge() {
    const signal = this.abort.signal;
    const s = session.get();
    const size = this.total;
    const partSize = Math.max(s.recommendedPartSize, Math.ceil(size / MAX_PARTS));
    const count = Math.ceil(size / partSize);
    this.set('uploading', 'Starting large file');
    const started = await api.call('b2_start_large_file', {
      bucketId: this.bucket.bucketId, fileName: this.name,
      contentType: this.file.type || 'b2/x-auto', fileInfo: this.info(),
    });
    this.fileId = started.fileId;
    if (signal.aborted) throw new DOMException('cancelled', 'AbortError');
    this.parts = count;
    this.partsDone = 0;
    this.set('uploading', `Uploading ${count} parts`);
    const sha1s = new Array(count);
    const loaded = new Array(count).fill(0);
    const progress = () => {
      this.sent = loaded.reduce((a, b) => a + b, 0);
      this.dispatchEvent(new Event('change'));
    };
    let next = 0;
    // A part that fails for good stops the others.
    const stop = new AbortController();
    signal.addEventListener('abort', () => stop.abort(), { once: true });
    const worker = async () => {
      let url = null;
      while (next < count) {
        const i = next++;
        const blob = this.file.slice(i * partSize, Math.min((i + 1) * partSize, size));
        const sha = await sha1Blob(blob, null, stop.signal);
        for (let attempt = 1; ; attempt++) {
          try {
            if (!url) url = await api.call('b2_get_upload_part_url', { fileId: this.fileId }, { signal: stop.signal });
            await api.xhrPost(url.uploadUrl, {
              Authorization: url.authorizationToken,
              'X-Bz-Part-Number': String(i + 1),
              'X-Bz-Content-Sha1': sha,
            }, blob, (n) => { loaded[i] = n; progress(); }, stop.signal);
            break;
          } catch (err) {
            loaded[i] = 0;
            url = null; // a failed URL is never reused
            progress();
            if (stop.signal.aborted || !retryable(err) || attempt >= ATTEMPTS) throw err;
            this.retries = (this.retries || 0) + 1;
            this.set('uploading', `Retrying part ${i + 1} (attempt ${attempt + 1})`);
            await sleep(500 * 2 ** (attempt - 1), stop.signal);
          }
        }
        loaded[i] = blob.size;
        sha1s[i] = sha;
        this.partsDone++;
        this.set('uploading', `Uploaded ${this.partsDone} of ${count} parts`);
      }
    };
    const workers = [];
    for (let k = 0; k < Math.min(PART_WORKERS, count); k++) {
      workers.push(worker().catch((err) => { stop.abort(); throw err; }));
    }
    const results = await Promise.allSettled(workers);
    const failed = results.find((r) => r.status === 'rejected' && !(r.reason && r.reason.name === 'AbortError'));
    if (signal.aborted) throw new DOMException('cancelled', 'AbortError');
    if (failed) throw failed.reason;
    if (results.some((r) => r.status === 'rejected')) throw results.find((r) => r.status === 'rejected').reason;
    this.set('uploading', 'Finishing');
    await api.call('b2_finish_large_file', { fileId: this.fileId, partSha1Array: sha1s });
    this.finished = true;
  }
}

// Queue runs uploads a few at a time and tells listeners when one ends.
export class Queue extends EventTarget {
  constructor(concurrency = 2) {
    super();
    this.items = [];
    this.running = 0;
    this.concurrency = concurrency;
  }

  add(upload) {
    this.items.push(upload);
    upload.addEventListener('change', () => this.dispatchEvent(new Event('change')));
    this.dispatchEvent(new Event('change'));
    this.pump();
  }

  pump() {
    while (this.running < this.concurrency) {
      const u = this.items.find((x) => x.state === 'queued' && !x.picked);
      if (!u) return;
      u.picked = true;
      this.running++;
      u.run().finally(() => {
        this.running--;
        this.dispatchEvent(new CustomEvent('ended', { detail: u }));
        this.pump();
      });
    }
  }

  // clear forgets the uploads that have ended.
  clear() {
    this.items = this.items.filter((u) => u.active());
    this.dispatchEvent(new Event('change'));
  }

  cancelAll() {
    for (const u of this.items) u.cancel();
  }
}
