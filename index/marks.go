package index

import "fmt"

// Marks are small values kept inside the index (bleve's internal storage),
// so they live and die with it: an index replaced by an empty one has none.
// The replicated mode keeps there the last change-log sequence applied.

func markKey(name string) []byte { return []byte("switchyard.mark." + name) }

// SetMark stores a named mark.
func (idx *Index) SetMark(name string, value []byte) error {
	if err := idx.bleve.SetInternal(markKey(name), value); err != nil {
		return fmt.Errorf("index %s: set mark %s: %w", idx.path, name, err)
	}
	return nil
}

// Mark returns a named mark, nil when it was never set.
func (idx *Index) Mark(name string) ([]byte, error) {
	v, err := idx.bleve.GetInternal(markKey(name))
	if err != nil {
		return nil, fmt.Errorf("index %s: mark %s: %w", idx.path, name, err)
	}
	return v, nil
}
