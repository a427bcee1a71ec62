package sandbox

import (
	"fmt"
	"os/user"
	"strconv"
)

// LookupUser gives the credentials of the user named (its uid, gid and
// groups) for Options.User: what --user names.
func LookupUser(name string) (*Credentials, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("--user: %w", err)
	}
	c := &Credentials{Name: u.Username}
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
