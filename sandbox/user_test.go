package sandbox

import "testing"

func TestLookupUser(t *testing.T) {
	c, err := LookupUser("root")
	if err != nil || c.UID != 0 || c.GID != 0 || c.Name != "root" {
		t.Errorf("root: %+v, %v", c, err)
	}
	if _, err := LookupUser("no-such-user-scanwatch"); err == nil {
		t.Error("an unknown user: no error")
	}
}
