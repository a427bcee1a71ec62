package eve

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/scanwatch/scanwatch/technique"
)

// TestSignatures: every technique has its own signature, in the local range
// (ids above 1999999 read as Emerging Threats rules), with ATT&CK entries
// spelled as ET spells them.
func TestSignatures(t *testing.T) {
	attackID := regexp.MustCompile(`^(T\d{4}(\.\d{3})?|TA\d{4})$`)
	ids := map[int]string{}
	check := func(name string, s Signature) {
		if first, dup := ids[s.ID]; dup {
			t.Errorf("%s and %s share signature id %d", first, name, s.ID)
		}
		ids[s.ID] = name
		if s.ID < 1000000 || s.ID > 1999999 || s.Rev < 1 || !strings.HasPrefix(s.Text, "scanwatch: ") || s.Severity < 1 || s.Severity > 3 {
			t.Errorf("%s: %+v", name, s)
		}
		for _, a := range []Attack{s.Technique, s.Tactic} {
			if !attackID.MatchString(a.ID) || a.Name == "" || strings.Contains(a.Name, " ") {
				t.Errorf("%s: ATT&CK entry %+v", name, a)
			}
		}
	}
	for tc := range technique.Count {
		s := SignatureOf(tc)
		check(tc.String(), s)
		if got := signatureFor(tc.String()); got != s {
			t.Errorf("signatureFor(%q) = %+v, want %+v", tc, got, s)
		}
	}
	check("unknown", unknownSignature)
	for _, s := range []Signature{signatureFor("version"), signatureFor(""), SignatureOf(technique.Count)} {
		if s != unknownSignature {
			t.Errorf("unknown type: %+v", s)
		}
	}
	if got := Signatures(); len(got) != int(technique.Count)+1 || got[len(got)-1] != unknownSignature {
		t.Errorf("Signatures() = %d entries", len(got))
	}
}

// TestREADMEListsSignatures: the README's table names every signature with
// its id, text and severity.
func TestREADMEListsSignatures(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Signatures() {
		row := fmt.Sprintf("| %d | %s", s.ID, s.Text)
		i := strings.Index(string(b), row)
		if i < 0 {
			t.Errorf("README lacks the row %q", row)
			continue
		}
		line := string(b[i:])
		line = line[:strings.IndexByte(line, '\n')]
		if !strings.Contains(line, fmt.Sprintf("| %d | %s |", s.Severity, s.Technique.ID)) {
			t.Errorf("README row %q: want severity %d and %s", line, s.Severity, s.Technique.ID)
		}
	}
}
