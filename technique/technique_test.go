package technique

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestNames(t *testing.T) {
	// The detector's episode order and the alerts' scan.type: changing
	// either changes output, so they are pinned; new techniques go last.
	want := []string{"syn", "connect", "fin", "null", "xmas", "maimon", "ack", "custom", "udp", "ipproto", "sctp", "ping", "arp", "osprobe"}
	var got []string
	for tc := range Count {
		got = append(got, tc.String())
		p, err := Parse(tc.String())
		if err != nil || p != tc {
			t.Errorf("Parse(%q) = %v, %v", tc, p, err)
		}
	}
	if len(got) < len(want) || !reflect.DeepEqual(got[:len(want)], want) {
		t.Errorf("techniques %q, want %q first", got, want)
	}
	if s := Count.String(); s != fmt.Sprintf("technique(%d)", len(got)) || Count.Valid() {
		t.Errorf("Count: %q, valid %v", s, Count.Valid())
	}
	for _, bad := range []string{"", "SYN", "connect ", "sS", "technique(1)"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
	if _, err := Parse("synn"); err == nil || err.Error() != `unknown technique "synn" (known: `+strings.Join(got, ", ")+")" {
		t.Errorf("Parse(synn) error: %v", err)
	}
}

func TestByFlags(t *testing.T) {
	var got []Technique
	for tc := range Count {
		if tc.ByFlags() {
			got = append(got, tc)
		}
	}
	if want := []Technique{Syn, Fin, Null, Xmas, Maimon, Ack, Custom}; !reflect.DeepEqual(got, want) {
		t.Errorf("ByFlags: %v, want %v", got, want)
	}
	if Count.ByFlags() || Technique(200).ByFlags() {
		t.Error("out-of-range values are ByFlags")
	}
}

func TestJSON(t *testing.T) {
	type rec struct {
		Type  Technique         `json:"type"`
		Count map[Technique]int `json:"count"`
		List  []Technique       `json:"list"`
	}
	in := rec{Type: Null, Count: map[Technique]int{Syn: 3, OSProbe: 1}, List: []Technique{Xmas, UDP}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"null","count":{"osprobe":1,"syn":3},"list":["xmas","udp"]}`; string(b) != want {
		t.Errorf("json %s, want %s", b, want)
	}
	var out rec
	if err := json.Unmarshal(b, &out); err != nil || !reflect.DeepEqual(out, in) {
		t.Errorf("json round trip: %+v, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"type":"synn"}`), &out); err == nil || !strings.Contains(err.Error(), `unknown technique "synn"`) {
		t.Errorf("unknown name: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"type":1}`), &out); err == nil {
		t.Error("a number decoded as a technique")
	}
	if _, err := json.Marshal(rec{Type: Count}); err == nil {
		t.Error("Count marshalled")
	}
}

func TestYAML(t *testing.T) {
	type rec struct {
		Type  Technique         `yaml:"type"`
		Count map[Technique]int `yaml:"count"`
	}
	in := rec{Type: Null, Count: map[Technique]int{ARP: 2}}
	b, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	// null is quoted, so it reads back as the technique, not YAML's null.
	if want := "type: \"null\"\ncount:\n    arp: 2\n"; string(b) != want {
		t.Errorf("yaml %q, want %q", b, want)
	}
	var out rec
	if err := yaml.Unmarshal(b, &out); err != nil || !reflect.DeepEqual(out, in) {
		t.Errorf("yaml round trip: %+v, %v", out, err)
	}
	if err := yaml.Unmarshal([]byte("type: ipproto\n"), &out); err != nil || out.Type != IPProto {
		t.Errorf("yaml ipproto: %v, %v", out.Type, err)
	}
	out.Type = UDP
	if err := yaml.Unmarshal([]byte("type: null\n"), &out); err != nil || out.Type != UDP {
		t.Errorf("yaml plain null: %v, %v; the docs say it leaves the field alone", out.Type, err)
	}
	for _, bad := range []string{"type: synn\n", "type: 3\n", "type: [syn]\n"} {
		if err := yaml.Unmarshal([]byte(bad), &out); err == nil {
			t.Errorf("yaml %q decoded", bad)
		}
	}
}
