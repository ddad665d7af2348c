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
