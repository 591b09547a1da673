package backupkit

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"strings"

	"github.com/covetgo/covet/backupkit/internal/tool"
)

// pgList runs pg_restore --list on the archive that stream hands over and
// returns its table of contents without comment lines.
func pgList(ctx context.Context, bin string, stream func(func(io.Reader) error) error) ([]string, error) {
	name := "pg_restore"
	if bin != "" {
		name = bin + string(os.PathSeparator) + name
	}
	var out bytes.Buffer
	err := stream(func(r io.Reader) error {
		return tool.Run(ctx, name, []string{"--list"}, nil, r, &out)
	})
	if err != nil {
		return nil, err
	}
	var list []string
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, ";") {
			continue
		}
		list = append(list, line)
	}
	return list, sc.Err()
}
