package report

import "strconv"

// palette is the colour of each technique, one CSS class each (c0, c1...),
// chosen so that the techniques seen together most (syn, connect, udp,
// ping) are far apart. Techniques not listed (a name from a newer sensor)
// take the spare colours in the order they are met, then grey.
var palette = []struct{ name, color string }{
	{"syn", "#2f6db5"},
	{"connect", "#7fb0ea"},
	{"udp", "#1c9a8c"},
	{"ping", "#7d8b96"},
	{"arp", "#a9b4bc"},
	{"fin", "#e07b39"},
	{"null", "#a8561c"},
	{"xmas", "#d64545"},
	{"maimon", "#9b6a4b"},
	{"ack", "#8a63c7"},
	{"custom", "#c2459a"},
	{"ipproto", "#6f8f22"},
	{"sctp", "#c9a316"},
	{"osprobe", "#e8639b"},
	{"version", "#3f9d4a"},
	{"script", "#1f6e35"},
	{"idle", "#4a4f57"},
	{"ftpbounce", "#8c4a1d"},
}

// spare colours for techniques the palette does not name; grey after them.
var spare = []string{"#5f9ea0", "#b07aa1", "#9c755f", "#bab0ac"}

const otherColor = "#9aa3ab"

// colors hands out technique colours for one page.
type colors struct {
	class map[string]int // technique -> index in list
	list  []string       // colour of class cN
}

func newColors() *colors {
	c := &colors{class: map[string]int{}}
	for i, p := range palette {
		c.class[p.name] = i
		c.list = append(c.list, p.color)
	}
	return c
}

// of returns the CSS class of a technique's colour. The class never holds
// the name itself, which comes from the records.
func (c *colors) of(tech string) string {
	i, ok := c.class[tech]
	if !ok {
		i = len(c.list)
		switch n := len(c.list) - len(palette); {
		case n < len(spare):
			c.list = append(c.list, spare[n])
		case n == len(spare):
			c.list = append(c.list, otherColor)
		default: // all the rest share grey
			i = len(palette) + len(spare)
		}
		c.class[tech] = i
	}
	return "c" + strconv.Itoa(i)
}
