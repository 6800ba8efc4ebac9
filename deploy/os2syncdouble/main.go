// Command os2syncdouble serves the OS2sync contract double (package
// sinks/fk/fkdouble) on a local port, for `make run` and manual tests:
//
//	os2syncdouble --listen 127.0.0.1:61380 --cvr 29189846
//
// Point the fk sink's os2sync.url at http://127.0.0.1:61380/api and read
// what FK Organisation holds with curl 127.0.0.1:61380/_double/state.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/os2mo-cdc/mocdc/sinks/fk/fkdouble"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:61380", "address to serve on")
	cvr := flag.String("cvr", "", "default municipality CVR (overrides the CVR header, as OS2sync's DefaultMunicipality)")
	apiKey := flag.String("api-key", os.Getenv("OS2SYNC_API_KEY"), "required apiKey header (default $OS2SYNC_API_KEY; empty: none)")
	applyEvery := flag.Duration("apply-every", 200*time.Millisecond, "how often the queue is applied")
	flag.Parse()
	s := fkdouble.New(fkdouble.Config{APIKey: *apiKey, DefaultCVR: *cvr, ApplyEvery: *applyEvery})
	defer s.Close()
	fmt.Fprintf(os.Stderr, "os2syncdouble: serving the OS2sync API on http://%s/api (state: /_double/state)\n", *listen)
	srv := &http.Server{Addr: *listen, Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
