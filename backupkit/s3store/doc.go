// Package s3store is a [backupkit.Store] in a bucket of S3-compatible object
// storage (AWS S3, MinIO, Ceph, Garage...) through minio-go.
//
// It is a package of its own so that a service that keeps its backups in a
// directory links no S3 client: import it only where backups go to S3.
//
//	client, err := minio.New("s3.example.com", &minio.Options{Creds: creds, Secure: true})
//	...
//	store, err := s3store.New(client, "backups", s3store.WithPartSize(32<<20))
//	...
//	m, err := backupkit.New(store, backupkit.WithPrefix("db/"))
package s3store
