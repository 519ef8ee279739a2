// api.js — the console's B2 Native API client. Every call goes to this
// origin (the gateway's B2 handler is served here too), with the account
// token in the Authorization header, never in a URL.

import * as session from './session.js';

const VERSION = 'v4';

// B2Error is a refusal from the server, in B2's JSON shape.
export class B2Error extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || '';
  }
}

// readable turns any error into a sentence for the page.
export function readable(err) {
  if (err instanceof B2Error) {
    switch (err.code) {
      case 'unauthorized':
        return `Not allowed: ${err.message}.`.replace(/\.\.$/, '.');
      case 'duplicate_bucket_name':
        return 'That bucket name is already in use.';
      case 'expired_auth_token':
        return 'Your session has expired. Sign in again.';
      case 'bad_auth_token':
        return 'Your session is no longer valid. Sign in again.';
      case 'service_unavailable':
        return `The service is unavailable right now (${err.message}). Try again.`;
    }
    const m = err.message || err.code;
    return m.charAt(0).toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? '' : '.');
  }
  if (err && err.name === 'AbortError') return 'Cancelled.';
  if (err instanceof TypeError) return 'The server cannot be reached. Check your connection and try again.';
  return String(err && err.message ? err.message : err);
}

// authExpired reports whether an error means the session is over.
export function authExpired(err) {
  return err instanceof B2Error && err.status === 401 && (err.code === 'expired_auth_token' || err.code === 'bad_auth_token');
}

// onExpired is called when a call finds the session over (main.js sets it).
let expiredHandler = () => {};
export function onExpired(fn) {
  expiredHandler = fn;
}

async function errorOf(resp) {
  let body = {};
  try {
    body = await resp.json();
  } catch {
    // not JSON: the status says it all
  }
  return new B2Error(resp.status, body.code, body.message);
}

// authorize signs in with a key: b2_authorize_account with Basic credentials.
// It returns the session to keep (it does not store it).
export async function authorize(keyId, key) {
  const resp = await fetch(`/b2api/${VERSION}/b2_authorize_account`, {
    headers: { Authorization: 'Basic ' + btoa(unescape(encodeURIComponent(`${keyId}:${key}`))) },
    cache: 'no-store',
  });
  if (!resp.ok) throw await errorOf(resp);
  const a = await resp.json();
  const st = a.apiInfo.storageApi;
  return {
    keyId,
    accountId: a.accountId,
    token: a.authorizationToken,
    apiUrl: st.apiUrl,
    downloadUrl: st.downloadUrl,
    s3ApiUrl: st.s3ApiUrl,
    recommendedPartSize: st.recommendedPartSize,
    absoluteMinimumPartSize: st.absoluteMinimumPartSize,
    allowed: {
      capabilities: st.allowed.capabilities || [],
      buckets: st.allowed.buckets || null,
      namePrefix: st.allowed.namePrefix || '',
    },
    keyExpiration: a.applicationKeyExpirationTimestamp || null,
  };
}

function token() {
  const s = session.get();
  if (!s) throw new B2Error(401, 'bad_auth_token', 'not signed in');
  return s.token;
}

// call makes a JSON call (POST) and returns the decoded answer.
export async function call(name, body, opts = {}) {
  const resp = await fetch(`/b2api/${VERSION}/${name}`, {
    method: 'POST',
    headers: { Authorization: token(), 'Content-Type': 'application/json' },
    body: JSON.stringify(body || {}),
    cache: 'no-store',
    signal: opts.signal,
  });
  if (!resp.ok) {
    const err = await errorOf(resp);
    if (authExpired(err)) expiredHandler(err);
    throw err;
  }
  return resp.json();
}

// accountId is the signed-in account.
export function accountId() {
  return session.get().accountId;
}

// listBuckets lists the buckets the key may see: a key restricted to
// buckets (without listAllBucketNames) must name them, one call each.
export async function listBuckets() {
  const s = session.get();
  if (s.allowed.buckets && s.allowed.buckets.length > 0 && !session.can('listAllBucketNames')) {
    const out = [];
    for (const b of s.allowed.buckets) {
      const r = await call('b2_list_buckets', { accountId: s.accountId, bucketId: b.id });
      out.push(...r.buckets);
    }
    return out;
  }
  const r = await call('b2_list_buckets', { accountId: s.accountId });
  return r.buckets;
}

// bucketByName finds one bucket.
export async function bucketByName(name) {
  const s = session.get();
  const ref = (s.allowed.buckets || []).find((b) => b.name === name);
  const q = ref ? { bucketId: ref.id } : { bucketName: name };
  const r = await call('b2_list_buckets', { accountId: s.accountId, ...q });
  return r.buckets[0] || null;
}

// cluster is the console's own read-only endpoint.
export async function cluster() {
  const resp = await fetch('/api/cluster', { headers: { Authorization: token() }, cache: 'no-store' });
  if (!resp.ok) {
    const err = await errorOf(resp);
    if (authExpired(err)) expiredHandler(err);
    throw err;
  }
  return resp.json();
}

// encodeName percent-encodes a file name for X-Bz-File-Name and /file/
// URLs, leaving '/' as is (B2's rule).
export function encodeName(name) {
  return encodeURIComponent(name).replace(/%2F/g, '/');
}

// download fetches one file version with the token in a header and hands
// it to the browser as a download named after the file.
export async function download(file) {
  const url = `/b2api/${VERSION}/b2_download_file_by_id?fileId=${encodeURIComponent(file.fileId)}`;
  const resp = await fetch(url, { headers: { Authorization: token() }, cache: 'no-store' });
  if (!resp.ok) {
    const err = await errorOf(resp);
    if (authExpired(err)) expiredHandler(err);
    throw err;
  }
  const blob = await resp.blob();
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = file.fileName.split('/').pop() || 'download';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

// xhrPost sends body with progress (fetch has no upload progress). It
// resolves with the JSON answer and rejects with a B2Error, or a TypeError
// for a network failure; abort() rejects with an AbortError.
export function xhrPost(url, headers, body, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', url);
    for (const [k, v] of Object.entries(headers)) x.setRequestHeader(k, v);
    x.upload.onprogress = (e) => onProgress && onProgress(e.loaded);
    x.onload = () => {
      let j = {};
      try {
        j = JSON.parse(x.responseText);
      } catch {
        // keep {}
      }
      if (x.status >= 200 && x.status < 300) resolve(j);
      else reject(new B2Error(x.status, j.code, j.message));
    };
    x.onerror = () => reject(new TypeError('network error'));
    x.onabort = () => reject(new DOMException('cancelled', 'AbortError'));
    if (signal) {
      if (signal.aborted) {
        reject(new DOMException('cancelled', 'AbortError'));
        return;
      }
      signal.addEventListener('abort', () => x.abort(), { once: true });
    }
    x.send(body);
  });
}
