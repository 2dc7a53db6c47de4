// Package blob stores files — product images, theme assets, backups —
// through Go CDK buckets: a local folder in development (file:///…) and an
// S3-compatible bucket in production (s3://bucket?endpoint=…), chosen by URL
// with the same code behind both.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// buckets
	_ "gocloud.dev/blob/s3blob"   // s3:// buckets
	"gocloud.dev/gcerrors"
)

// Bucket is an opened bucket.
type Bucket = blob.Bucket

// Open opens the bucket at rawURL. A file:// URL names a folder, created
// when missing; a relative path (file://./.data/blobs, or a bare path) is
// taken from the working directory.
func Open(ctx context.Context, rawURL string) (*Bucket, error) {
	u, err := folderURL(rawURL)
	if err != nil {
		return nil, err
	}
	b, err := blob.OpenBucket(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("open blob bucket: %w", err)
	}
	return b, nil
}

// folderURL turns a local folder, however written, into the absolute file://
// URL fileblob wants, asking it to create the folder and to keep its
// temporary files beside the final ones (so a rename never crosses devices).
func folderURL(raw string) (string, error) {
	if !strings.Contains(raw, "://") {
		raw = "file://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("blob URL: %w", err)
	}
	if u.Scheme != "file" {
		return raw, nil
	}
	path := u.Host + u.Path // file://./x parses "." as the host
	if path == "" {
		return "", errors.New("blob URL: file:// needs a folder")
	}
	if !filepath.IsAbs(path) {
		if path, err = filepath.Abs(path); err != nil {
			return "", fmt.Errorf("blob URL: %w", err)
		}
	}
	q := u.Query()
	q.Set("create_dir", "true")
	q.Set("no_tmp_dir", "true")
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}).String(), nil
}

// IsNotFound reports whether err says a key does not exist.
func IsNotFound(err error) bool { return gcerrors.Code(err) == gcerrors.NotFound }

// Put writes data under key.
func Put(ctx context.Context, b *Bucket, key string, data []byte, contentType string) error {
	opts := &blob.WriterOptions{ContentType: contentType}
	if err := b.WriteAll(ctx, key, data, opts); err != nil {
		return fmt.Errorf("put blob %s: %w", key, err)
	}
	return nil
}

// Delete removes key; a key already gone is not an error.
func Delete(ctx context.Context, b *Bucket, key string) error {
	if err := b.Delete(ctx, key); err != nil && !IsNotFound(err) {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// Serve writes the file at key as a response to r, with range requests,
// conditional requests and the caching headers for immutable, content-named
// files. A missing key is a 404; other failures return their error for the
// caller to report.
func Serve(w http.ResponseWriter, r *http.Request, b *Bucket, key string) error {
	rd, err := b.NewReader(r.Context(), key, nil)
	if err != nil {
		if IsNotFound(err) {
			http.NotFound(w, r)
			return nil
		}
		return fmt.Errorf("read blob %s: %w", key, err)
	}
	defer rd.Close()
	h := w.Header()
	if ct := rd.ContentType(); ct != "" {
		h.Set("Content-Type", ct)
	}
	// Keys name their content (a hash), so the bytes behind a URL never
	// change: caches may keep them for a year without asking again.
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+filepath.Base(key)+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", rd.ModTime(), rd)
	return nil
}

// Exists reports whether key is in the bucket.
func Exists(ctx context.Context, b *Bucket, key string) (bool, error) {
	ok, err := b.Exists(ctx, key)
	if err != nil {
		return false, fmt.Errorf("stat blob %s: %w", key, err)
	}
	return ok, nil
}

// DeletePrefix removes every key that starts with prefix.
func DeletePrefix(ctx context.Context, b *Bucket, prefix string) error {
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list blobs %s: %w", prefix, err)
		}
		if err := Delete(ctx, b, obj.Key); err != nil {
			return err
		}
	}
}
