// Package redact masks secrets in text: the one redactor of the tool's
// messages, used for forges' and git's tokens, registries' credentials and
// the cluster's Secret values. A Redactor masks the secrets it is taught,
// in their raw, URL-escaped and base64 forms; any Redactor, nil included,
// also masks what is a credential by its place: the password (or the lone
// token) of a URL's user information, the value of an Authorization
// header, and token and password query parameters.
package redact

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Mask replaces a secret in redacted text.
const Mask = "***"

// minSecretLen keeps a one- or two-character "secret" from masking every
// occurrence of a common letter.
const minSecretLen = 3

// Redactor replaces every secret it knows in a text with Mask. It also knows
// each secret's URL-escaped and base64 forms. Its methods are safe for
// concurrent use; a nil Redactor masks only what byPlace finds.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string
}

// NewRedactor returns a Redactor that knows secrets; empty ones are skipped.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add teaches r more secrets.
func (r *Redactor) Add(secrets ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if len(s) < minSecretLen {
			continue
		}
		r.secrets = append(r.secrets, s, url.QueryEscape(s), url.PathEscape(s),
			base64.StdEncoding.EncodeToString([]byte(s)))
	}
	// Longest first, so a secret containing another is masked whole.
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
}

// AddBasic teaches r the secrets of HTTP basic auth with user and password:
// the password and the header's base64 of user:password.
func (r *Redactor) AddBasic(user, password string) {
	if password == "" {
		return
	}
	r.Add(password, user+":"+password)
}

// byPlace are the credentials known by where they are written.
var byPlace = []struct {
	re   *regexp.Regexp
	with string
}{
	// scheme://user:password@ keeps the user.
	{regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)([^/@\s:]*):([^/@\s]*)@`), "${1}${2}:" + Mask + "@"},
	// http(s)://token@: a lone user of an HTTP URL is a token.
	{regexp.MustCompile(`((?i:https?)://)[^/@\s:]+@`), "${1}" + Mask + "@"},
	{regexp.MustCompile(`(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+`), "$1 " + Mask},
	{regexp.MustCompile(`(?i)((?:access_token|refresh_token|password|token)=)[^&\s]+`), "${1}" + Mask},
}

// String returns s with every known secret, and every credential known by
// its place, masked.
func (r *Redactor) String(s string) string {
	if r != nil {
		r.mu.RLock()
		for _, secret := range r.secrets {
			s = strings.ReplaceAll(s, secret, Mask)
		}
		r.mu.RUnlock()
	}
	for _, p := range byPlace {
		s = p.re.ReplaceAllString(s, p.with)
	}
	return s
}

// Error returns err with its text redacted, still matching errors.Is and
// errors.As for what it wraps; nil stays nil.
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	if re, ok := err.(*RedactedError); ok && re.by == r {
		return err
	}
	return &RedactedError{msg: r.String(err.Error()), err: err, by: r}
}

// RedactedError is an error whose text had its secrets masked.
type RedactedError struct {
	msg string
	err error
	by  *Redactor
}

// Error returns the redacted text.
func (e *RedactedError) Error() string { return e.msg }

// Unwrap returns the original error, for errors.Is and errors.As. Print
// what it returns only through a Redactor.
func (e *RedactedError) Unwrap() error { return e.err }
