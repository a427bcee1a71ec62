package rules

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// deref follows aliases to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; i < 100 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch {
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a sequence"
	case n.Kind == yaml.AliasNode:
		return "an alias"
	case isNull(n):
		return "null"
	default:
		return strconv.Quote(excerpt(n.Value))
	}
}

// where names a path in messages: "in allow", "at top level".
func where(path string) string {
	if path == "" {
		return "at top level"
	}
	return "in " + path
}

// mapping walks the key/value pairs of n (a mapping, or null for none),
// reporting duplicate keys and keys not in known (named what: "key",
// "technique"), and calls fn for each known key with its value dereferenced.
func (l *loader) mapping(n *yaml.Node, path, what string, known []string, fn func(key string, v *yaml.Node)) {
	n = deref(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "%s: expected a mapping, got %s", path, describe(n))
		return
	}
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			l.errorf(k, "%s: keys must be plain strings, got %s", path, describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			l.errorf(k, "duplicate key %q %s (first at %d:%d)", excerpt(k.Value), where(path), first.Line, first.Column)
			continue
		}
		seen[k.Value] = k
		if !slices.Contains(known, k.Value) {
			l.errorf(k, "unknown %s %q %s (known: %s)", what, excerpt(k.Value), where(path), strings.Join(known, ", "))
			continue
		}
		fn(k.Value, deref(v))
	}
}

// sequence returns the items of n (null counts as an empty list).
func (l *loader) sequence(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n, "%s: expected a sequence, got %s", path, describe(n))
		return nil, false
	}
	if len(n.Content) > MaxListEntries {
		l.errorf(n, "%s: %d entries, at most %d", path, len(n.Content), MaxListEntries)
		return nil, false
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, it := range n.Content {
		items[i] = deref(it)
	}
	return items, true
}

func (l *loader) integer(n *yaml.Node, path string) (int, bool) {
	var v int64
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&v) != nil || int64(int(v)) != v {
		l.errorf(n, "%s: expected an integer, got %s", path, describe(n))
		return 0, false
	}
	return int(v), true
}

func (l *loader) float(n *yaml.Node, path string) (float64, bool) {
	var v float64
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") || n.Decode(&v) != nil {
		l.errorf(n, "%s: expected a number, got %s", path, describe(n))
		return 0, false
	}
	return v, true
}

func (l *loader) boolean(n *yaml.Node, path string) (bool, bool) {
	var v bool
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(&v) != nil {
		l.errorf(n, "%s: expected true or false, got %s", path, describe(n))
		return false, false
	}
	return v, true
}

func (l *loader) str(n *yaml.Node, path string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		l.errorf(n, "%s: expected a string, got %s", path, describe(n))
		return "", false
	}
	return n.Value, true
}

// duration parses a positive Go duration (5s, 2m, 24h).
func (l *loader) duration(n *yaml.Node, path string) (time.Duration, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		l.errorf(n, "%s: expected a duration, got %s", path, describe(n))
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		l.errorf(n, "%s: bad duration %q (want Go syntax such as 5s, 2m, 24h)", path, excerpt(n.Value))
		return 0, false
	}
	if d <= 0 {
		l.errorf(n, "%s: must be positive, got %s", path, excerpt(n.Value))
		return 0, false
	}
	return d, true
}

func (l *loader) positive(n *yaml.Node, path string) (int, bool) {
	v, ok := l.integer(n, path)
	if ok && v <= 0 {
		l.errorf(n, "%s: must be positive, got %d", path, v)
		return 0, false
	}
	return v, ok
}

// atMost reports whether v (read from n) is at most limit.
func (l *loader) atMost(n *yaml.Node, path string, v, limit int) bool {
	if v > limit {
		l.errorf(n, "%s: %d is more than the limit %d", path, v, limit)
		return false
	}
	return true
}

// shorter reports whether d (read from n) is at most limit.
func (l *loader) shorter(n *yaml.Node, path string, d, limit time.Duration) bool {
	if d > limit {
		l.errorf(n, "%s: %s is longer than the limit %s", path, excerpt(n.Value), limit)
		return false
	}
	return true
}

func (l *loader) nonNegative(n *yaml.Node, path string) (int, bool) {
	v, ok := l.integer(n, path)
	if ok && v < 0 {
		l.errorf(n, "%s: must not be negative, got %d", path, v)
		return 0, false
	}
	return v, ok
}
