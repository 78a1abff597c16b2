/* HTTPS: a BearSSL TLS 1.2 server as a stream (net/stream.h) over a TCP
 * stream, so the HTTP server runs over it unchanged.
 *
 * Policy (tls/conn.c): TLS 1.2 only (BearSSL's ceiling; 1.0 and 1.1
 * refused), ECDHE key exchange signed with the certificate's ECDSA P-256
 * / P-384 or RSA 2048-4096 key, AES-128-GCM, ChaCha20-Poly1305 and
 * AES-256-GCM (AES first where the CPU has AES-NI, ChaCha20 first where
 * it does not), the server's order, no renegotiation, no compression
 * (BearSSL has none), session resumption by ID from a bounded cache,
 * ALPN "http/1.1", SNI choosing among the bundle's certificates. */
#ifndef KEEL_TLS_H
#define KEEL_TLS_H

#include <stddef.h>
#include <stdint.h>

struct stream;

/* Load the certificates from the boot bundle (tls/NAME.crt with
 * tls/NAME.key) and size the session cache. 0 when HTTPS can start;
 * otherwise the console says why (no certificate, a bad one, no entropy)
 * and HTTPS stays off. */
int tls_init(void);

/* Begin a TLS server connection over `lower` (a new TCP stream), which it
 * then owns. The handshake runs inside the first read, bounded by
 * tls_handshake_timeout. NULL, with `lower` left to the caller, when
 * tls_max_handshakes are under way (none older than a second, else the
 * oldest is evicted) or memory is short (counted). */
struct stream *tls_accept(struct stream *lower);

enum tls_fail {
	TLS_FAIL_TIMEOUT,   /* the handshake outlived tls_handshake_timeout */
	TLS_FAIL_CLOSED,    /* the client hung up or reset */
	TLS_FAIL_VERSION,   /* not TLS 1.2 (or not TLS at all) */
	TLS_FAIL_CIPHER,    /* no suite, curve or signature in common */
	TLS_FAIL_ALERT,     /* the client sent a fatal alert */
	TLS_FAIL_PROTOCOL,  /* any other protocol violation */
	TLS_FAIL_EVICTED,   /* unfinished after a second, it made room at tls_max_handshakes */
	TLS_FAIL_BUSY,      /* refused: tls_max_handshakes under way, all younger than a second */
	TLS_FAIL_MEMORY,    /* refused: no memory for the engine */
	TLS_NFAIL
};
extern const char *const tls_fail_names[TLS_NFAIL];

struct tls_stats {
	uint64_t handshakes, resumed;     /* completed: all, by session resumption */
	uint64_t failed[TLS_NFAIL];       /* handshakes, by reason */
	uint64_t broken;                  /* established connections ended by a fatal alert or error */
	uint32_t handshaking, open;       /* now */
	uint32_t idle_released;           /* open connections holding no record buffers */
	size_t conn_bytes, buffer_bytes;  /* per connection: engine state, record buffers */
	size_t cached_bytes;              /* released buffers kept for reuse */
};
void tls_get_stats(struct tls_stats *out);

#endif
