package s3store_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/covetgo/covet/backupkit"
	"github.com/covetgo/covet/backupkit/s3store"
)

// Backups in a bucket. The S3 server here is an in-process fake (gofakes3)
// so that the example runs anywhere; in production the client points at the
// real endpoint with real credentials.
func Example() {
	ctx := context.Background()
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer fake.Close()
	u, _ := url.Parse(fake.URL)
	client, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4("key", "secret", ""), Region: "us-east-1"})
	if err != nil {
		log.Fatal(err)
	}
	if err := client.MakeBucket(ctx, "backups", minio.MakeBucketOptions{}); err != nil {
		log.Fatal(err)
	}

	store, err := s3store.New(client, "backups")
	if err != nil {
		log.Fatal(err)
	}
	m, err := backupkit.New(store, backupkit.WithPrefix("notes/"))
	if err != nil {
		log.Fatal(err)
	}
	man, err := m.Backup(ctx, backupkit.NewReaderSource(strings.NewReader("hello, bucket"), "notes"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(man.Kind, man.Size, strings.HasPrefix(man.Object, "notes/"))
	// Output:
	// notes 13 true
}
