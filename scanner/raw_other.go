//go:build !linux

package scanner

import (
	"context"
	"errors"
)

func runRaw(ctx context.Context, cfg phase, res *Result) error {
	return errors.New("raw scan techniques need Linux (AF_PACKET); use -sT")
}
