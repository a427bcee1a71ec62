package main

import (
	"context"
	"errors"
	"io"
)

// cmdSelftest is a placeholder until its issue lands.
func cmdSelftest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not built yet")
}
