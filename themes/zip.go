package themes

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// ErrBadZip is wrapped by FromZip's errors about the archive itself
// (unreadable, too large, unsafe paths), as opposed to *Error values about
// the theme inside.
var ErrBadZip = errors.New("invalid theme archive")

// FromZip loads a theme from a zip archive of size bytes, as merchants
// upload them. A single top-level folder wrapping the whole theme, as
// Shopify's exports have, is removed. The archive is refused when it holds
// more than MaxFiles files or MaxThemeBytes uncompressed, a file over
// MaxFileBytes (MaxSourceBytes for Liquid and JSON), a path that is
// absolute or contains .., a symbolic link, or a file outside the theme
// folders or with an extension they do not allow. Sizes are enforced on the
// bytes actually inflated, not on what the archive declares.
func FromZip(r io.ReaderAt, size int64) (*Theme, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadZip, err)
	}
	if len(zr.File) > MaxFiles*2 {
		return nil, fmt.Errorf("%w: more than %d entries", ErrBadZip, MaxFiles)
	}
	type entry struct {
		name string
		f    *zip.File
	}
	var entries []entry
	for _, f := range zr.File {
		name := f.Name
		if strings.Contains(name, "\\") {
			name = strings.ReplaceAll(name, "\\", "/")
		}
		if strings.HasPrefix(name, "/") || strings.Contains(name, ":") {
			return nil, fmt.Errorf("%w: %q is an absolute path", ErrBadZip, f.Name)
		}
		for _, part := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
			if part == ".." {
				return nil, fmt.Errorf("%w: %q leaves the archive", ErrBadZip, f.Name)
			}
		}
		mode := f.Mode()
		if mode&fs.ModeSymlink != 0 || !mode.IsDir() && !mode.IsRegular() {
			return nil, fmt.Errorf("%w: %q is not a regular file (symbolic links are refused)", ErrBadZip, f.Name)
		}
		if mode.IsDir() || strings.HasSuffix(name, "/") || skipped(name) {
			continue
		}
		entries = append(entries, entry{name, f})
	}
	// Remove one wrapping folder when every file is inside it and it is not
	// itself a theme folder.
	if len(entries) > 0 {
		first, _, ok := strings.Cut(entries[0].name, "/")
		wrapped := ok && folders[first] == nil
		for _, e := range entries {
			if !strings.HasPrefix(e.name, first+"/") {
				wrapped = false
				break
			}
		}
		if wrapped {
			for i := range entries {
				entries[i].name = strings.TrimPrefix(entries[i].name, first+"/")
			}
		}
	}
	if len(entries) > MaxFiles {
		return nil, fmt.Errorf("%w: more than %d files", ErrBadZip, MaxFiles)
	}
	files := make(map[string][]byte, len(entries))
	total := 0
	var errs []error
	for _, e := range entries {
		if _, dup := files[e.name]; dup {
			return nil, fmt.Errorf("%w: %q appears twice", ErrBadZip, e.name)
		}
		if err := checkFile(e.name, 0); err != nil {
			errs = append(errs, err)
			continue
		}
		limit := MaxFileBytes
		if isSource(e.name) {
			limit = MaxSourceBytes
		}
		if e.f.UncompressedSize64 > uint64(limit) {
			errs = append(errs, &Error{File: e.name, Msg: fmt.Sprintf("is larger than %d bytes", limit)})
			continue
		}
		b, err := readLimited(e.f, limit)
		if err != nil {
			errs = append(errs, &Error{File: e.name, Msg: err.Error(), Err: ErrBadZip})
			continue
		}
		total += len(b)
		if total > MaxThemeBytes {
			return nil, fmt.Errorf("%w: more than %d bytes uncompressed", ErrBadZip, MaxThemeBytes)
		}
		files[e.name] = b
	}
	if len(errs) > 0 {
		return nil, errors.Join(sortErrors(errs)...)
	}
	return FromMap(files)
}

// readLimited inflates a zip entry, refusing more than limit bytes whatever
// its header says.
func readLimited(f *zip.File, limit int) ([]byte, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	if len(b) > limit {
		return nil, fmt.Errorf("is larger than %d bytes", limit)
	}
	return b, nil
}
