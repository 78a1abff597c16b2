/* Private to tls/: what the connection (conn.c), the policy (policy.c)
 * and start-up (tls.c) share. */
#ifndef KEEL_TLS_INTERNAL_H
#define KEEL_TLS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "bearssl.h"
#include "tls/certs.h"
#include "tls/tls.h"

struct tls_options {
	uint64_t handshake_ns;   /* tls_handshake_timeout */
	uint32_t max_handshakes; /* tls_max_handshakes */
	uint32_t session_cache;  /* tls_session_cache: entries */
};
extern struct tls_options tls_opt;

/* tls.c: the shared session cache (NULL: none). */
const br_ssl_session_cache_class **tls_session_cache(void);

/* policy.c: set up a fresh server context with Keel's policy (versions,
 * suites in the server's order, hashes, AEADs, flags, ALPN) and `chooser`
 * as its certificate policy, which picks the certificate by SNI. */
struct tls_chooser {
	const br_ssl_server_policy_class *vtable; /* first: BearSSL calls through it */
	br_ssl_server_context *sc;
	const struct tls_cert *cert;              /* chosen: NULL until then (or resumed) */
};
void tls_policy_apply(br_ssl_server_context *sc, struct tls_chooser *chooser);
/* "ECDHE-ECDSA-AES128-GCM-SHA256" (OpenSSL's names, as access logs use) */
const char *tls_suite_name(uint16_t suite);

#endif
