package mail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// nameTime is the layout of the time that starts a file name: UTC, fixed
// width, so that file names sort as the times they were written.
const nameTime = "20060102T150405.000000000Z"

// Dir is the development sender: it writes each message, exactly as SMTP
// would send it, as an RFC 5322 .eml file in a folder, where List and Read
// (a dev inbox page) or any mail client can open it. A file is named
// <UTC time, to the nanosecond>-<Message-ID>.eml, so names sort by time and
// differ while Message-IDs differ, and it is written to a temporary file
// first and renamed, so a reader never sees half a message. Files are
// readable by their owner only: they hold password-reset links.
type Dir struct {
	path string
}

// NewDir returns a sender writing into path, creating the folder if needed.
func NewDir(path string) (*Dir, error) {
	if path == "" {
		return nil, errors.New("mail dir: path is empty")
	}
	if err := os.MkdirAll(path, 0o750); err != nil {
		return nil, fmt.Errorf("mail dir: %w", err)
	}
	return &Dir{path: path}, nil
}

// Path returns the folder the sender writes into, for List and Read.
func (d *Dir) Path() string { return d.path }

// String describes the sender as its URL.
func (d *Dir) String() string {
	if filepath.IsAbs(d.path) {
		return "file://" + filepath.ToSlash(d.path)
	}
	return "file:" + filepath.ToSlash(d.path)
}

// Send writes m into the folder. It returns an errs.Invalid error for an
// invalid message, as the SMTP sender does, so development shows the same
// mistakes production would.
func (d *Dir) Send(ctx context.Context, m *Message) error {
	if d.path == "" {
		return errors.New("send mail: Dir has no folder; build it with NewDir")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("send mail: %w", err)
	}
	now := time.Now()
	msg, err := m.build(now)
	if err != nil {
		return fmt.Errorf("send mail: %w", err)
	}
	id := strings.Trim(msg.GetMessageID(), "<>")
	name := now.UTC().Format(nameTime) + "-" + fileSafe(id) + ".eml"

	tmp, err := os.CreateTemp(d.path, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("send mail %s: %w", id, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := msg.WriteTo(tmp); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("send mail %s: write: %w", id, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("send mail %s: sync: %w", id, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("send mail %s: close: %w", id, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(d.path, name)); err != nil {
		return fmt.Errorf("send mail %s: rename: %w", id, err)
	}
	return nil
}

// fileSafe keeps the characters of a Message-ID that are safe in a file name
// on every system and replaces the others with '_'.
func fileSafe(id string) string {
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("@.-_+=", c) >= 0) {
			b[i] = '_'
		}
	}
	if len(b) > 120 {
		b = b[:120]
	}
	return string(b)
}

// Summary is one stored message as an inbox list shows it.
type Summary struct {
	Name      string    // file name within the folder, for Read
	Time      time.Time // when it was written
	From      Address
	To        []Address
	Subject   string // decoded
	MessageID string // without angle brackets
}

// Stored is one stored message, read back in full.
type Stored struct {
	Summary
	Text string // the text/plain body, decoded; empty if none
	HTML string // the text/html body, decoded; empty if none
	Raw  []byte // the whole file, for a "view source" link
}

// List returns the summaries of the messages in dir, newest first. A folder
// that does not exist yet holds no messages. Any other file than a Dir's
// .eml files is ignored; an .eml file that cannot be parsed is an error
// naming it.
func List(dir string) ([]Summary, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list mail: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && validName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	slices.Reverse(names)
	list := make([]Summary, 0, len(names))
	for _, name := range names {
		s, err := readSummary(dir, name)
		if err != nil {
			return nil, fmt.Errorf("list mail: %w", err)
		}
		list = append(list, s)
	}
	return list, nil
}

// readSummary reads the header of one file.
func readSummary(dir, name string) (Summary, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return Summary{}, err
	}
	defer f.Close()
	msg, err := netmail.ReadMessage(bufio.NewReader(f))
	if err != nil {
		return Summary{}, fmt.Errorf("%s: %w", name, err)
	}
	return summarize(name, msg.Header), nil
}

// Read returns the message stored as name in dir, with its text and HTML
// bodies decoded. name must be a file name that List returned; a name with a
// path in it is refused, so a page passing it on from a URL cannot read
// other files. A missing message is an error matching fs.ErrNotExist.
func Read(dir, name string) (*Stored, error) {
	if !validName(name) {
		return nil, fmt.Errorf("read mail: %q is not a message file name: %w", name, fs.ErrNotExist)
	}
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("read mail: %w", err)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("read mail %s: %w", name, err)
	}
	s := &Stored{Summary: summarize(name, msg.Header), Raw: raw}
	h := msg.Header
	if err := s.readPart(h.Get("Content-Type"), h.Get("Content-Transfer-Encoding"), msg.Body, 0); err != nil {
		return nil, fmt.Errorf("read mail %s: %w", name, err)
	}
	return s, nil
}

// validName reports whether name is a plain .eml file name that a Dir could
// have written (temporary files start with a dot).
func validName(name string) bool {
	return strings.HasSuffix(name, ".eml") && !strings.HasPrefix(name, ".") &&
		filepath.Base(name) == name && !strings.ContainsAny(name, `/\`)
}

// summarize reads the summary fields from a header. Fields that are missing
// or malformed stay empty: a summary is for showing, not for checking.
func summarize(name string, h netmail.Header) Summary {
	s := Summary{Name: name, MessageID: strings.Trim(h.Get("Message-Id"), "<> ")}
	if len(name) >= len(nameTime) {
		s.Time, _ = time.Parse(nameTime, name[:len(nameTime)])
	}
	if s.Time.IsZero() {
		s.Time, _ = h.Date()
	}
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		s.From = Address{Name: from[0].Name, Email: from[0].Address}
	}
	if to, err := h.AddressList("To"); err == nil {
		for _, a := range to {
			s.To = append(s.To, Address{Name: a.Name, Email: a.Address})
		}
	}
	var dec mime.WordDecoder
	s.Subject = h.Get("Subject")
	if subject, err := dec.DecodeHeader(s.Subject); err == nil {
		s.Subject = subject
	}
	return s
}

// maxDepth bounds how deeply multiparts nest; the messages a Dir writes
// nest one level.
const maxDepth = 5

// readPart reads one MIME entity into s: a text/plain or text/html body is
// decoded into Text or HTML (the first of each wins), a multipart is walked.
// Bodies are taken to be UTF-8, which is what Message writes.
func (s *Stored) readPart(contentType, encoding string, body io.Reader, depth int) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		if depth >= maxDepth {
			return errors.New("multipart nested too deeply")
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			// NextPart decodes quoted-printable itself and then drops the
			// Content-Transfer-Encoding header, so what is left is base64
			// or an identity encoding.
			if err := s.readPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1); err != nil {
				return err
			}
		}
	}
	if mediaType != "text/plain" && mediaType != "text/html" {
		return nil
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // skips line breaks
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s body: %w", mediaType, err)
	}
	if mediaType == "text/plain" && s.Text == "" {
		s.Text = string(b)
	}
	if mediaType == "text/html" && s.HTML == "" {
		s.HTML = string(b)
	}
	return nil
}
