package index

import (
	"errors"
	"fmt"

	"switchyard"
)

// ErrOtherVersion is wrapped by Open's error when the index on disk was
// written by a version of Switchyard whose documents or mapping differ from
// this one's. Such an index cannot be searched or updated: whoever owns the
// data directory rebuilds it (a new index and a full sync); read-only users
// tell the user to do so.
var ErrOtherVersion = errors.New("index written by another version")

// VersionError is Open's error for an index stamped with another version
// (find it with errors.As). It matches ErrOtherVersion and, like any bad
// input, switchyard.ErrInvalid (as a *switchyard.Error).
type VersionError struct {
	Path  string // the index directory
	Found string // the version that wrote it ("" when it carries no stamp)
	Want  string // the version this build reads and writes
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("index %s was written by another version (%q, want %q): remove it and run a full sync", e.Path, e.Found, e.Want)
}

func (e *VersionError) Unwrap() []error {
	return []error{ErrOtherVersion, &switchyard.Error{Kind: switchyard.ErrInvalid, Message: e.Error()}}
}

func otherVersionError(path string, found []byte) error {
	return &VersionError{Path: path, Found: string(found), Want: mappingVersion}
}
