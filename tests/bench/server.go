// The Go peer of `make bench`: a plain net/http server with Go's defaults
// (keep-alive on, no timeouts, GOMAXPROCS = CPUs) serving what Keel serves:
//
//	GET /           the page in -index (Keel's images/site/index.html)
//	GET /bytes/{n}  n zero bytes, Content-Length n
//	POST /bytes     the body read and discarded; {"bytes":N} (as Keel)
//
// With -cert and -key naming files that exist (the bench's HTTPS section
// puts them in the initramfs), it also serves HTTPS on -tls-addr with
// Keel's policy as far as crypto/tls allows: TLS 1.2 only, ECDHE-ECDSA
// with AES-128-GCM, ChaCha20-Poly1305, AES-256-GCM. crypto/tls picks the
// order itself (PreferServerCipherSuites is ignored since Go 1.17) and
// resumes with session tickets only (it has no session ID cache).
//
// Built static (CGO_ENABLED=0) by tests/bench/peers.py and run by the
// initramfs's /init.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
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

// sinkBytes is POST /bytes: the upload half, read and discarded.
func sinkBytes(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		http.Error(w, "request body incomplete", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"bytes\":%d}\n", n)
}

func main() {
	addr := flag.String("addr", ":80", "listen address")
	tlsAddr := flag.String("tls-addr", ":443", "HTTPS listen address, when -cert exists")
	cert := flag.String("cert", "", "PEM certificate for HTTPS; none or missing: no HTTPS")
	key := flag.String("key", "", "PEM private key of -cert")
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
	mux.HandleFunc("/bytes", sinkBytes)
	if _, err := os.Stat(*cert); *cert != "" && err == nil {
		srv := &http.Server{Addr: *tlsAddr, Handler: mux, TLSConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
				tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
				tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
			NextProtos: []string{"http/1.1"},
		}}
		go func() { log.Fatal(srv.ListenAndServeTLS(*cert, *key)) }()
	}
	log.Fatal(http.ListenAndServe(*addr, mux))
}
