package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"strconv"

	"github.com/scanwatch/scanwatch/sandbox"
)

// sandboxFlags are live's flags for what it keeps once it captures.
type sandboxFlags struct {
	user    *string
	seccomp *string
}

func addSandboxFlags(fs *flag.FlagSet) sandboxFlags {
	return sandboxFlags{
		user: fs.String("user", "", "once capturing, run as this user (its uid, gid and groups)"),
		seccomp: fs.String("seccomp", sandbox.SeccompEnforce,
			"system-call filter once capturing: enforce, log (allow, but have the kernel log what enforce would refuse) or off"),
	}
}

// enterSandbox sheds live's privileges once its capture is set up (see
// package sandbox) and says what it kept on stderr. A binary built with cgo
// cannot: it says so and runs on with its privileges.
func enterSandbox(f sandboxFlags, needs func() error, stderr io.Writer) error {
	o := sandbox.Options{Needs: needs, Seccomp: *f.seccomp}
	if *f.user != "" {
		creds, err := lookupUser(*f.user)
		if err != nil {
			return err
		}
		o.User = creds
	}
	rep, err := sandbox.Enter(o)
	if errors.Is(err, sandbox.ErrCgo) {
		fmt.Fprintf(stderr, "scanwatch live: warning: privileges kept for the whole run: %v\n", err)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "scanwatch live: %v\n", rep)
	return nil
}

func lookupUser(name string) (*sandbox.Credentials, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("--user: %w", err)
	}
	c := &sandbox.Credentials{Name: u.Username}
	if c.UID, err = strconv.Atoi(u.Uid); err == nil {
		c.GID, err = strconv.Atoi(u.Gid)
	}
	if err != nil {
		return nil, fmt.Errorf("--user %s: ids %s:%s: %w", name, u.Uid, u.Gid, err)
	}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("--user %s: groups: %w", name, err)
	}
	for _, g := range gids {
		n, err := strconv.Atoi(g)
		if err != nil {
			return nil, fmt.Errorf("--user %s: group %q: %w", name, g, err)
		}
		c.Groups = append(c.Groups, n)
	}
	return c, nil
}
