package rules

import "reflect"

// Same compares two Rules values as configuration, leaving aside the
// lookup structures built from their lists.
func Same(a, b *Rules) bool {
	x, y := *a, *b
	x.idx, y.idx = nil, nil
	return reflect.DeepEqual(&x, &y)
}
