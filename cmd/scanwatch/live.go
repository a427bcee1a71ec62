package main

import (
	"context"
	"errors"
	"io"
)

// cmdLive is a placeholder until its issue lands.
func cmdLive(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("not built yet")
}
