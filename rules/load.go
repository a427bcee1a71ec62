package rules

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/scanwatch/scanwatch/technique"
)

//go:embed default.yaml
var defaultYAML []byte

// defaultRules parses the embedded default once. The default is parsed onto
// an empty Rules, so it must spell out every key; TestDefault checks that.
var defaultRules = sync.OnceValue(func() *Rules {
	r, err := parse("default.yaml", defaultYAML, &Rules{Detect: map[technique.Technique]Threshold{}})
	if err != nil {
		panic("rules: embedded default.yaml is invalid:\n" + err.Error())
	}
	return r
})

// Default returns the embedded default rules. The file is parsed once; each
// call returns a fresh deep copy, so callers may modify it.
func Default() *Rules { return defaultRules().Clone() }

// DefaultYAML returns a copy of the embedded default rules file, comments
// included: a starting point for a user's own file.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// MaxFileSize bounds a rules file. The YAML parser keeps a node of a
// hundred bytes or more per item, so an unbounded file (or /dev/zero)
// would take memory without end; the largest real file, allow lists of
// MaxListEntries included, fits well within it.
const MaxFileSize = 4 << 20

// Load reads and validates a rules file. Keys the file does not give keep
// their default values (see Parse). A read failure is returned wrapped; a
// file that does not validate, or is larger than MaxFileSize, yields an
// *Error. It reads at most MaxFileSize+1 bytes.
func Load(path string) (*Rules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	return Parse(path, data)
}

// Parse validates the rules in data; name is the file name used in error
// positions. The file overrides the embedded default: a key not given keeps
// its default value; a technique under detect replaces only the fields it
// gives; a list (home_networks, allow.*, tcp_flags) given replaces the whole
// list. Every problem found is reported as an *Error whose lines read
// "name:line:col: message".
func Parse(name string, data []byte) (*Rules, error) {
	if len(data) > MaxFileSize {
		return nil, &Error{Issues: []Issue{{File: name, Line: 1, Col: 1,
			Msg: fmt.Sprintf("file larger than %d MiB: a rules file is at most that (is it the right file?)", MaxFileSize>>20)}}}
	}
	return parse(name, data, defaultRules().Clone())
}

// Issue is one problem in a rules file, at a 1-based line and column.
type Issue struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (i Issue) String() string { return fmt.Sprintf("%s:%d:%d: %s", i.File, i.Line, i.Col, i.Msg) }

// Error lists every problem found in a rules file, sorted by position.
type Error struct {
	Issues []Issue
}

// Error prints one issue per line, each as "file:line:col: message".
func (e *Error) Error() string {
	var b strings.Builder
	for i, is := range e.Issues {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(is.String())
	}
	return b.String()
}

// maxIssues bounds how many problems one file reports.
const maxIssues = 50

// loader walks the YAML node tree onto a Rules value, collecting issues.
type loader struct {
	file   string
	issues []Issue
	r      *Rules
	// value nodes of slow.theta0/theta1 when given, for the cross check.
	theta0, theta1 *yaml.Node
	// value nodes of each tcp_flags entry's type, for the shadow check.
	patternNodes []*yaml.Node
}

func parse(name string, data []byte, base *Rules) (*Rules, error) {
	l := &loader{file: name, r: base}
	if doc := l.decode(data); doc != nil {
		l.top(doc)
		l.crossCheck()
	}
	if len(l.issues) > 0 {
		slices.SortStableFunc(l.issues, func(a, b Issue) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Col - b.Col
		})
		if len(l.issues) > maxIssues {
			last := l.issues[maxIssues-1]
			l.issues = append(l.issues[:maxIssues-1], Issue{File: name, Line: last.Line, Col: last.Col,
				Msg: fmt.Sprintf("too many errors (%d more not shown)", len(l.issues)-maxIssues+1)})
		}
		return nil, &Error{Issues: l.issues}
	}
	l.r.buildIndex()
	return l.r, nil
}

func (l *loader) add(line, col int, format string, a ...any) {
	if line < 1 {
		line = 1
	}
	if col < 1 {
		col = 1
	}
	msg := fmt.Sprintf(format, a...)
	if len(msg) > maxMessage {
		// Messages quote input through excerpt; this catches what a
		// library's error text may echo of it.
		msg = strings.ToValidUTF8(msg[:maxMessage], "") + "..."
	}
	l.issues = append(l.issues, Issue{File: l.file, Line: line, Col: col, Msg: msg})
}

// maxMessage bounds one issue's text, in bytes.
const maxMessage = 400

// maxExcerpt is how many characters of bad input a message quotes.
const maxExcerpt = 40

// excerpt shortens input quoted in a message: a 10 MB bad scalar must not
// become a 10 MB error line.
func excerpt(s string) string {
	if utf8.RuneCountInString(s) <= maxExcerpt {
		return s
	}
	n := 0
	for i := range s {
		if n == maxExcerpt {
			return s[:i] + fmt.Sprintf("...(%d bytes)", len(s))
		}
		n++
	}
	return s
}

func (l *loader) errorf(n *yaml.Node, format string, a ...any) {
	l.add(n.Line, n.Column, format, a...)
}

// The yaml package's messages, compiled on the first syntax error rather
// than at start (every command of the binary would pay for them).
var (
	yamlLineRE      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`) })
	unknownAnchorRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^unknown anchor '(.*)' referenced$`) })
)

// decode parses data into a node tree and returns the top-level mapping, or
// nil after recording why there is none.
func (l *loader) decode(data []byte) (top *yaml.Node) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	err := safeDecode(dec, &doc)
	if err == io.EOF {
		l.add(1, 1, "empty file")
		return nil
	}
	if err != nil {
		l.syntaxError(data, err)
		return nil
	}
	var extra yaml.Node
	switch err := safeDecode(dec, &extra); {
	case err == io.EOF:
	case err != nil:
		l.syntaxError(data, err)
		return nil
	default:
		l.errorf(&extra, "more than one YAML document; a rules file holds one")
		return nil
	}
	n := &doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			l.add(1, 1, "empty file")
			return nil
		}
		n = n.Content[0]
	}
	n = deref(n)
	if isNull(n) {
		l.add(1, 1, "empty file")
		return nil
	}
	if n.Kind != yaml.MappingNode {
		l.errorf(n, "top level: expected a mapping, got %s", describe(n))
		return nil
	}
	return n
}

// safeDecode guards against the few internal panics the yaml package raises
// on malformed input instead of returning an error.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("yaml: %v", v)
		}
	}()
	return dec.Decode(n)
}

// syntaxError converts the yaml package's "yaml: line N: msg" to an issue;
// the package does not expose the column, so it is 1.
func (l *loader) syntaxError(data []byte, err error) {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = "yaml: " + te.Errors[0]
	}
	line := 1
	if m := yamlLineRE().FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	col := 1
	if m := unknownAnchorRE().FindStringSubmatch(msg); m != nil {
		// The parser gives no position; the first use of the alias is it.
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
			col = 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:i], '\n')+1:i])
		}
	}
	l.add(line, col, "syntax error: %s", msg)
}
