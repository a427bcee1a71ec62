package rules

import (
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/scanwatch/scanwatch/technique"
)

// TestTechniquesInDefaultOrder: Techniques is every technique with its own
// threshold (all but connect), in the order the embedded default's detect
// section lists them.
func TestTechniquesInDefaultOrder(t *testing.T) {
	var doc struct{ Detect yaml.Node }
	if err := yaml.Unmarshal(defaultYAML, &doc); err != nil {
		t.Fatal(err)
	}
	var inFile []technique.Technique
	for i := 0; i+1 < len(doc.Detect.Content); i += 2 {
		k, err := technique.Parse(doc.Detect.Content[i].Value)
		if err != nil || k == technique.Connect {
			t.Fatalf("default.yaml: detect.%s is not a technique with its own threshold", doc.Detect.Content[i].Value)
		}
		inFile = append(inFile, k)
	}
	if !slices.Equal(Techniques, inFile) {
		t.Errorf("Techniques %v, default.yaml's detect section %v", Techniques, inFile)
	}
	for k := range technique.Count {
		if k != technique.Connect && !slices.Contains(Techniques, k) {
			t.Errorf("Techniques lacks %v", k)
		}
	}
}
