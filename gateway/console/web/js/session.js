// session.js — the signed-in key, kept in sessionStorage only: it dies with
// the tab, is never in a URL, never in localStorage.

const KEY = 'coffer.session';

// get returns the session or null.
export function get() {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

export function set(s) {
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function clear() {
  sessionStorage.removeItem(KEY);
}

// can reports whether the signed-in key has a capability.
export function can(capability) {
  const s = get();
  return !!s && s.allowed.capabilities.includes(capability);
}

// restricted reports whether the key is restricted to buckets.
export function restricted() {
  const s = get();
  return !!s && Array.isArray(s.allowed.buckets) && s.allowed.buckets.length > 0;
}

// allowedBucket reports whether the key may touch the bucket at all.
export function allowedBucket(bucketId) {
  const s = get();
  return !!s && (!restricted() || s.allowed.buckets.some((b) => b.id === bucketId));
}
