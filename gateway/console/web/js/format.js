// format.js — how numbers, sizes and times read on the page.

// bytes formats a size as the seed does ("79.6 KB"): decimal units.
export function bytes(n) {
  if (n === null || n === undefined) return '';
  if (n < 1000) return n === 1 ? '1 byte' : `${n} bytes`;
  const units = ['KB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

// binary formats capacity figures (free space) in binary units.
export function binary(n) {
  if (!n) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

// date formats milliseconds since the epoch in the user's locale.
export function date(ms) {
  if (!ms) return '';
  return new Date(Number(ms)).toLocaleString(undefined, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
  });
}

// duration formats seconds as days/hours/minutes.
export function duration(s) {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return [d && `${d} d`, h && `${h} h`, m && `${m} min`].filter(Boolean).join(' ') || `${s} s`;
}

// plural: plural(3, 'file') → "3 files".
export function plural(n, word, many) {
  return `${n} ${n === 1 ? word : many || word + 's'}`;
}
