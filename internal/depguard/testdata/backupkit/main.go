// Tiny program: backupkit backs a directory up into a directory store.
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/covetgo/covet/backupkit"
)

func main() {
	store, err := backupkit.NewDirStore(os.Args[2])
	if err != nil {
		log.Fatal(err)
	}
	m, err := backupkit.New(store)
	if err != nil {
		log.Fatal(err)
	}
	src, err := backupkit.NewDirectorySource(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Backup(context.Background(), src))
}
