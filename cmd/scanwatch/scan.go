package main

import (
	"context"
	"errors"
	"io"
)

// cmdScan is a placeholder until its issue lands.
func cmdScan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not built yet")
}
