package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestExampleFileCoversEveryKey: openroom.example.yaml names every key with its
// default; uncommented, it loads, validates and equals Default().
func TestExampleFileCoversEveryKey(t *testing.T) {
	raw, err := os.ReadFile("../openroom.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keyLine := regexp.MustCompile(`^# ([a-z_]+):(.*)$`)
	typ := reflect.TypeOf(Config{})
	keys := map[string]bool{}
	for i := 0; i < typ.NumField(); i++ {
		keys[typ.Field(i).Tag.Get("yaml")] = true
	}
	var doc []string
	seen := map[string]bool{}
	inList := false
	for _, l := range strings.Split(string(raw), "\n") {
		if m := keyLine.FindStringSubmatch(l); m != nil && keys[m[1]] {
			seen[m[1]] = true
			doc = append(doc, m[1]+":"+m[2])
			inList = strings.TrimSpace(m[2]) == ""
			continue
		}
		if inList && strings.HasPrefix(strings.TrimLeft(strings.TrimPrefix(l, "#"), " "), "- ") {
			doc = append(doc, "  "+strings.TrimLeft(strings.TrimPrefix(l, "#"), " "))
			continue
		}
		inList = false
	}
	for i := 0; i < typ.NumField(); i++ {
		key := typ.Field(i).Tag.Get("yaml")
		t.Run(key, func(t *testing.T) {
			if !seen[key] {
				t.Errorf("openroom.example.yaml: got no %q; want every key documented", key)
			}
		})
	}
	c := Default()
	if err := c.LoadYAML(strings.NewReader(strings.Join(doc, "\n")), "example"); err != nil {
		t.Fatalf("uncommented example: got %v; want it to load", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("uncommented example: got %v; want valid", err)
	}
	if got, want := fmt.Sprintf("%+v", c), fmt.Sprintf("%+v", Default()); got != want { // nil and empty lists print alike
		t.Errorf("uncommented example: got %+v; want the defaults %+v", got, want)
	}
}

func TestYAMLErrorsNameKeyLineAndWhatIsAllowed(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"unknown key", "http: \":8080\"\nrtc_prot: 1\n", []string{`unknown key "rtc_prot"`, "line 2"}},
		{"not a number", "rtc_port: abc\n", []string{"rtc_port on line 1", `"abc" is not a whole number`}},
		{"not a bool", "open_login: maybe\n", []string{"open_login on line 1", "true or false"}},
		{"not a duration", "drain: soon\n", []string{"drain on line 1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			err := c.LoadYAML(strings.NewReader(tc.doc), "f.yaml")
			if err == nil {
				t.Fatalf("got nil; want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q; want it to contain %q", err, w)
				}
			}
		})
	}
	if got := LineOf([]byte("a: 1\nrtc_port: 5\n"), "rtc_port"); got != 2 {
		t.Errorf("LineOf: got %d; want 2", got)
	}
}
