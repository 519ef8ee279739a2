package objects

// SetBeforeBlobDeleteForTest makes deleteBlobs call f first (tests use it
// to cancel the caller's context between the commit and the cleanup).
func (l *Layer) SetBeforeBlobDeleteForTest(f func()) { l.beforeBlobDelete = f }
