package stream

import "testing"

func TestNameMatcherIsDockerPsRegex(t *testing.T) {
	cases := []struct {
		patterns []string
		name     string
		want     bool
	}{
		{nil, "anything", true},
		{[]string{"web"}, "web", true},
		{[]string{"web"}, "my-web-1", true}, // unanchored: a word is a substring, as in docker ps
		{[]string{"^extra-[12]$"}, "extra-1", true},
		{[]string{"^extra-[12]$"}, "extra-2", true},
		{[]string{"^extra-[12]$"}, "extra-3", false},
		{[]string{"^extra-[12]$"}, "extra-12", false},
		{[]string{"^/db$"}, "db", true}, // docker's leading slash
		{[]string{"/db"}, "db", true},
		{[]string{"^db$"}, "/db", true},
		{[]string{"nope", "^d"}, "db", true},
		{[]string{"nope"}, "db", false},
	}
	for _, c := range cases {
		m, err := CompileNames(c.patterns)
		if err != nil {
			t.Fatalf("%q: %v", c.patterns, err)
		}
		if got := m.Match(c.name); got != c.want {
			t.Errorf("%q match %q = %v, want %v", c.patterns, c.name, got, c.want)
		}
	}
}

func TestCompileNamesRejectsBadPattern(t *testing.T) {
	_, err := CompileNames([]string{"ok", "a(b"})
	if err == nil {
		t.Fatal("want an error for a(b")
	}
	if got := err.Error(); got != `invalid name pattern "a(b": missing closing ): `+"`a(b`" {
		t.Errorf("error = %q", got)
	}
}
