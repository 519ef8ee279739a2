// views/cluster.js — Cluster: what `coffer admin cluster` shows, read-only:
// the roles and their endpoints, the metadata Raft group (leader, term,
// indexes), the blobstore nodes with zone and free space.

import { h, replace } from '../dom.js';
import * as api from '../api.js';
import { errorBox, busy } from '../ui.js';
import { binary } from '../format.js';

function table(label, cols, rows) {
  return h('div', { class: 'table-wrap' }, h('table', { 'aria-label': label },
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, rows.length ? rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))) : h('tr', {}, h('td', { colspan: String(cols.length) }, 'none')))));
}

function show(el, rep) {
  const roles = [];
  for (const [role, list] of Object.entries(rep.roles || {})) {
    for (const i of list) {
      const extra = [i.node_id && `node ${i.node_id}`, i.zone && `zone ${i.zone}`, i.leader && 'leader',
        i.http && `HTTP ${i.http}`, i.version].filter(Boolean).join(', ');
      roles.push([role, h('span', { class: 'mono' }, i.addr), extra]);
    }
  }
  const members = (rep.members || []).map((m) => [h('span', { class: 'mono' }, m.node_id), m.voter ? 'voter' : 'nonvoter',
    m.leader ? 'leader' : '', h('span', { class: 'mono' }, m.raft_address), h('span', { class: 'mono' }, m.grpc_address)]);
  const nodes = (rep.metadata || []).map((m) => m.error
    ? [h('span', { class: 'mono' }, m.addr), 'unreachable', '', '', '', '', m.error]
    : [h('span', { class: 'mono' }, m.node_id), m.state, String(m.term || 0), String(m.last_index || 0),
      String(m.commit_index || 0), String(m.applied_index || 0), h('span', { class: 'mono' }, m.addr)]);
  const blobs = (rep.blobstore || []).map((b) => b.up
    ? [h('span', { class: 'mono' }, b.addr), h('span', { class: 'mono' }, b.node_id), b.zone || '—', 'up',
      `${binary(b.free_bytes)} of ${binary(b.capacity_bytes)}`, String(b.blobs || 0)]
    : [h('span', { class: 'mono' }, b.addr), '', '', `down: ${b.error}`, '', '']);
  replace(el,
    rep.etcd ? h('p', {}, 'Roles registered in etcd at ', h('span', { class: 'mono' }, rep.etcd), rep.etcd_error ? ` (error: ${rep.etcd_error})` : '') : null,
    h('h2', {}, 'Roles'),
    table('Roles', ['Role', 'gRPC address', 'Details'], roles),
    h('h2', {}, 'Metadata (Raft)'),
    h('p', {}, 'Leader: ', h('strong', { class: 'mono' }, rep.leader || 'none known')),
    table('Raft members', ['Node', 'Membership', 'Leader', 'Raft address', 'gRPC address'], members),
    table('Metadata nodes', ['Node', 'State', 'Term', 'Last index', 'Commit index', 'Applied index', 'Address'], nodes),
    h('h2', {}, 'Blobstore nodes'),
    table('Blobstore nodes', ['Address', 'Node', 'Zone', 'Status', 'Free space', 'Blobs'], blobs));
}

export function render(main) {
  const body = h('div', { class: 'cluster', 'aria-live': 'polite' }, h('p', { class: 'loading' }, 'Asking every node…'));
  const err = h('p', { class: 'error', role: 'alert', hidden: true });
  const refresh = h('button', { type: 'button', on: { click: () => busy(refresh, load) } }, 'Refresh');
  let alive = true;
  async function load() {
    try {
      const rep = await api.cluster();
      if (!alive) return;
      errorBox(err, null);
      show(body, rep);
    } catch (e) {
      if (alive) errorBox(err, e);
    }
  }
  replace(main, h('div', { class: 'view-head' }, h('h1', {}, 'Cluster'), refresh),
    h('p', {}, 'What ', h('code', {}, 'coffer admin cluster'), ' shows, read-only.'), err, body);
  load();
  return () => { alive = false; };
}
