package fsm

import (
	bolt "go.etcd.io/bbolt"

	metadatav1 "github.com/coffer-project/coffer/proto/gen/go/coffer/metadata/v1"
)

// migrate1to2 brings a schema-1 file (before uploads and parts) to schema
// 2: every bucket tree gets its u/ (unfinished uploads) and p/ (parts)
// sub-buckets, and the START versions it already holds are indexed in u/.
// It is deterministic (a function of the file alone), so replicas that
// migrate the same file stay identical, and it runs on every open
// (including a restored snapshot written by an older node).
func migrate1to2(tx *bolt.Tx) error {
	objects := tx.Bucket(bktObjects)
	var ids [][]byte
	if err := objects.ForEach(func(k, v []byte) error {
		if v == nil {
			ids = append(ids, k)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, id := range ids {
		tree := objects.Bucket(id)
		for _, sub := range treeBuckets {
			if _, err := tree.CreateBucketIfNotExists(sub); err != nil {
				return err
			}
		}
		versions, uploads := tree.Bucket(bktVersions), tree.Bucket(bktUploads)
		err := versions.ForEach(func(k, data []byte) error {
			v, err := decodeVersion(data)
			if err != nil {
				return err
			}
			if v.GetAction() != metadatav1.VersionAction_VERSION_ACTION_START {
				return nil
			}
			key, index, ok := splitVersionKey(k)
			if !ok {
				return nil
			}
			return uploads.Put(uploadKey(string(key), index), []byte{})
		})
		if err != nil {
			return err
		}
	}
	return tx.Bucket(bktMeta).Put(keySchema, u64(schemaVersion))
}
