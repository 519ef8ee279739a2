package metadata

import metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"

// A dry lifecycle pass (RunLifecycle with dry_run) proposes nothing, yet
// must list exactly what a real pass at the same time would do. A real pass
// acts as it goes: the hide markers its first rules add make versions
// non-current, which its expiry step may then delete in the same pass (a
// pass run as of 40 days ahead hides a 10-day-old upload and, with
// daysFromHidingToDeleting=1, deletes it). So a dry pass keeps what it
// pretends to have done — markers added, versions deleted — and its scans
// see the state through that: a pretended marker is its key's newest
// version, stamped with the leader's clock as a real one would be, and a
// pretended deletion is gone. Every method is nil-safe: a real pass has no
// dryState and sees the store as it is.
type dryState struct {
	markers map[string]*metadatav1.ObjectVersion // bucket id + "\x00" + key → pretended marker
	deleted map[string]bool                      // version (or upload) ids pretended gone
	mine    map[*metadatav1.ObjectVersion]bool   // the pretended markers
}

func newDryState() *dryState {
	return &dryState{markers: map[string]*metadatav1.ObjectVersion{}, deleted: map[string]bool{}, mine: map[*metadatav1.ObjectVersion]bool{}}
}

func dryKey(v *metadatav1.ObjectVersion) string { return v.GetBucketId() + "\x00" + v.GetKey() }

// hides reports whether v's key is already (pretended) hidden.
func (d *dryState) hides(v *metadatav1.ObjectVersion) bool {
	return d != nil && d.markers[dryKey(v)] != nil
}

// deletes reports whether v is (pretended) deleted.
func (d *dryState) deletes(v *metadatav1.ObjectVersion) bool {
	return d != nil && d.deleted[v.GetVersionId()]
}

// markerOf is the marker pretended over v's key, or nil.
func (d *dryState) markerOf(v *metadatav1.ObjectVersion) *metadatav1.ObjectVersion {
	if d == nil {
		return nil
	}
	return d.markers[dryKey(v)]
}

// pretended reports whether v is a marker this pass pretended to add.
func (d *dryState) pretended(v *metadatav1.ObjectVersion) bool { return d != nil && d.mine[v] }

// apply remembers a step's effect.
func (d *dryState) apply(st lifecycleStep) {
	if m := st.marker; m != nil {
		// Apply stamps a marker's commit time with the command's time.
		m.CommitTimeUnixNanos = m.GetCreateTimeUnixNanos()
		d.markers[dryKey(m)] = m
		d.mine[m] = true
	}
	if v := st.version; v != nil {
		d.deleted[v.GetVersionId()] = true
	}
}
