// Package objname holds the rule for the object names of every backupkit
// store, so that a name one store refuses is refused by all.
package objname

import (
	"path"
	"path/filepath"
	"strings"
)

// TmpPrefix starts the names of objects being written by a directory store;
// no store accepts it in a name, so the stores stay interchangeable.
const TmpPrefix = ".tmp-"

// Valid reports whether name is a clean, relative, slash-separated name that
// cannot climb out of a store's directory or prefix.
func Valid(name string) bool {
	return name != "" && !strings.Contains(name, `\`) && filepath.IsLocal(filepath.FromSlash(name)) &&
		path.Clean(name) == name && !strings.HasPrefix(path.Base(name), TmpPrefix)
}
