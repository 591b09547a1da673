package cachex

// ItemOption configures one stored value (Set, SetMany, GetOrLoad).
type ItemOption func(*item)

type item struct {
	tags []string
}

// Tags attaches tags to the value: InvalidateTag with any of them makes it
// a miss everywhere.
func Tags(tags ...string) ItemOption {
	return func(it *item) { it.tags = append(it.tags, tags...) }
}

func itemOptions(opts []ItemOption) item {
	var it item
	for _, o := range opts {
		o(&it)
	}
	return it
}
