// names.js — the rules the server applies to names, checked as the user
// types (the server checks again: its answer is the last word).

// bucketNameProblem returns why a bucket name is refused, or '' when it is
// fine. coffer's rule (gateway/objects.ValidateBucketName): B2's 6 to 63
// characters of letters, digits and '-', lower case only (the names are
// also S3 bucket names), not starting with b2-.
export function bucketNameProblem(name) {
  if (name.length < 6) return 'Bucket names must be at least 6 characters.';
  if (name.length > 63) return 'Bucket names must be at most 63 characters.';
  if (/[A-Z]/.test(name)) return 'Bucket names must be lower case.';
  if (!/^[a-z0-9-]+$/.test(name)) return "Bucket names may contain only letters, digits and '-'.";
  if (name.startsWith('-') || name.endsWith('-')) return 'Bucket names must start and end with a letter or digit.';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'Bucket names must not be IP addresses.';
  for (const p of ['b2-', 'xn--', 'sthree-', 'amzn-s3-demo-']) {
    if (name.startsWith(p)) return `Bucket names must not start with ${p}`;
  }
  for (const s of ['-s3alias', '--ol-s3', '--x-s3', '--table-s3']) {
    if (name.endsWith(s)) return `Bucket names must not end with ${s}`;
  }
  if (name === 'client') return 'This name is reserved.';
  return '';
}

// keyNameProblem: B2 key names are 1 to 100 letters, digits and '-'.
export function keyNameProblem(name) {
  if (name.length === 0) return 'Enter a name for the key.';
  if (name.length > 100) return 'Key names must be at most 100 characters.';
  if (!/^[A-Za-z0-9-]+$/.test(name)) return "Key names may contain only letters, digits and '-'.";
  return '';
}

// folderNameProblem: a folder is a name segment, so no '/'.
export function folderNameProblem(name) {
  if (!name) return 'Enter a folder name.';
  if (name.includes('/')) return "A folder name cannot contain '/'.";
  if (new TextEncoder().encode(name).length > 900) return 'The folder name is too long.';
  return '';
}
