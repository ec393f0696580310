// Lists tar archives with Go's archive/tar, the reader containerd and moby unpack layers
// with: one JSON line per archive named on the command line, {"entries": [[name (hex), kind,
// size, link (hex)], ...], "error": "..." or null}. Types strata does not model (the PAX
// global header Go returns as an entry, GNU dumpdirs, vendor letters) are left out.
package main

import (
	"archive/tar"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

func kind(t byte) string {
	switch t {
	case tar.TypeReg, tar.TypeRegA, tar.TypeCont:
		return "file"
	case tar.TypeDir:
		return "dir"
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hardlink"
	case tar.TypeChar:
		return "char"
	case tar.TypeBlock:
		return "block"
	case tar.TypeFifo:
		return "fifo"
	}
	return ""
}

func list(path string) (entries [][]interface{}, errText *string) {
	f, err := os.Open(path)
	if err != nil {
		s := err.Error()
		return nil, &s
	}
	defer f.Close()
	r := tar.NewReader(f)
	entries = [][]interface{}{}
	for {
		h, err := r.Next()
		if err == io.EOF {
			return entries, nil
		}
		if err != nil {
			s := err.Error()
			return entries, &s
		}
		k := kind(h.Typeflag)
		if k == "" {
			continue
		}
		// Read the content as a runtime would (an archive cut inside it is an error).
		if _, err := io.Copy(io.Discard, r); err != nil {
			s := err.Error()
			return entries, &s
		}
		entries = append(entries, []interface{}{
			hex.EncodeToString([]byte(h.Name)), k, h.Size, hex.EncodeToString([]byte(h.Linkname)),
		})
	}
}

func main() {
	out := json.NewEncoder(os.Stdout)
	for _, path := range os.Args[1:] {
		entries, errText := list(path)
		if err := out.Encode(map[string]interface{}{"entries": entries, "error": errText}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
