// The Go peer of `make bench`: a plain net/http server with Go's defaults
// (keep-alive on, no timeouts, GOMAXPROCS = CPUs) serving what Keel serves:
//
//	GET /           the page in -index (Keel's images/site/index.html)
//	GET /bytes/{n}  n zero bytes, Content-Length n
//
// Built static (CGO_ENABLED=0) by tests/bench/peers.py and run by the
// initramfs's /init.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// zeros backs /bytes/{n}: written repeatedly, so the response costs no memory.
var zeros [64 << 10]byte

func serveBytes(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/bytes/"), 10, 64)
	if err != nil || n < 0 {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	for n > 0 {
		chunk := int64(len(zeros))
		if n < chunk {
			chunk = n
		}
		if _, err := w.Write(zeros[:chunk]); err != nil {
			return
		}
		n -= chunk
	}
}

func main() {
	addr := flag.String("addr", ":80", "listen address")
	index := flag.String("index", "/srv/www/index.html", "the page served at /")
	flag.Parse()
	page, err := os.ReadFile(*index)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		w.Write(page)
	})
	mux.HandleFunc("/bytes/", serveBytes)
	log.Fatal(http.ListenAndServe(*addr, mux))
}
