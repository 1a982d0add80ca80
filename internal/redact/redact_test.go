package redact

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	r := NewRedactor("ghp_abcdef123456", "", "ab")
	r.AddBasic("x-access-token", "pa ss/word")
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain", in: "token ghp_abcdef123456 refused", want: "token *** refused"},
		{name: "escaped", in: "p=pa+ss%2Fword q=pa%20ss%2Fword", want: "p=*** q=***"},
		{name: "basic header", in: "Authorization: Basic eC1hY2Nlc3MtdG9rZW46cGEgc3Mvd29yZA==", want: "Authorization: Basic ***"},
		{name: "short secrets ignored", in: "abc", want: "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	base := errors.New("boom ghp_abcdef123456")
	err := r.Error(fmt.Errorf("wrapped: %w", base))
	if strings.Contains(err.Error(), "ghp_") || !errors.Is(err, base) {
		t.Errorf("Error() = %v, Is = %v", err, errors.Is(err, base))
	}
}

// Credentials known by their place are masked by any Redactor, nil too.
func TestByPlace(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "URL user information", in: `Get "https://bot:pa55@registry.example.com/v2/": EOF`, want: `Get "https://bot:***@registry.example.com/v2/": EOF`},
		{name: "a token as the user of an HTTPS URL", in: "clone https://ghp_tok123@github.com/org/fleet.git", want: "clone https://***@github.com/org/fleet.git"},
		{name: "the user of an SSH URL stays", in: "ssh://git@github.com/org/fleet.git", want: "ssh://git@github.com/org/fleet.git"},
		{name: "authorization header", in: "sent Authorization: Bearer abc.DEF-123", want: "sent Authorization: Bearer ***"},
		{name: "token parameter", in: "GET /token?service=x&access_token=abc&scope=y", want: "GET /token?service=x&access_token=***&scope=y"},
		{name: "nothing to hide", in: "dial tcp: connection refused", want: "dial tcp: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *Redactor
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("String = %q, want %q", got, tt.want)
			}
		})
	}
}
