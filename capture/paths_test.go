package capture

import (
	"bytes"
	"context"
	"io"
	"testing"
	"testing/iotest"
)

// pathCase is a capture file's bytes and what reading them gives.
type pathCase struct {
	name  string
	b     []byte
	want  []testPkt // packets read before the error or the end
	warn  string    // a warning, "" for none
	error string    // "" for io.EOF
}

// readEveryPath reads each case the three ways a capture file is read:
// memory-mapped (a file on disk), buffered, and one byte at a time (a
// stream that returns little per read). Each must give the case's
// packets, error and warning. more, if not nil, checks what else a
// source says once it is read.
func readEveryPath(t *testing.T, ext string, cases []pathCase, more func(t *testing.T, src Source, warns []string)) {
	t.Helper()
	for _, tc := range cases {
		path := writeTemp(t, tc.name+ext, tc.b)
		var warns []string
		o := Opener{Warn: func(err error) { warns = append(warns, err.Error()) }}
		open := map[string]func() (Source, error){
			"mapped": func() (Source, error) { return o.Open(context.Background(), path) },
			"buffered": func() (Source, error) {
				return withWarn(OpenReader(path, bytes.NewReader(tc.b)))(o.Warn)
			},
			"one-byte": func() (Source, error) {
				return withWarn(OpenReader(path, iotest.OneByteReader(bytes.NewReader(tc.b))))(o.Warn)
			},
		}
		for how, open := range open {
			t.Run(tc.name+"/"+how, func(t *testing.T) {
				warns = nil
				src, err := open()
				if err != nil {
					t.Fatal(err)
				}
				defer src.Close()
				if mapped := src.(*fileSource).inputs[0].fr.mm != nil; mapped != (how == "mapped") {
					t.Fatalf("memory-mapped = %v", mapped)
				}
				got, err := readAll(src)
				checkPackets(t, got, tc.want)
				switch {
				case tc.error == "" && err != io.EOF:
					t.Errorf("err = %v, want io.EOF", err)
				case tc.error != "" && (err == nil || err.Error() != path+": "+tc.error):
					t.Errorf("err = %v\nwant %s: %s", err, path, tc.error)
				}
				switch {
				case tc.warn == "" && len(warns) > 0:
					t.Errorf("warnings %q", warns)
				case tc.warn != "" && (len(warns) != 1 || warns[0] != path+": "+tc.warn):
					t.Errorf("warnings %q\nwant %s: %s", warns, path, tc.warn)
				}
				if more != nil {
					more(t, src, warns)
				}
			})
		}
	}
}

// withWarn sets the warning function of a source from OpenReader.
func withWarn(src Source, err error) func(func(error)) (Source, error) {
	return func(warn func(error)) (Source, error) {
		if err == nil {
			src.(*fileSource).inputs[0].fr.warn = warn
		}
		return src, err
	}
}
