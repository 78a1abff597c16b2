/* The server's certificates: PEM chains and keys from the boot bundle,
 * decoded once at boot, each chain checked against its key; SNI picks
 * one per handshake (RFC 6066 §3). Private to tls/. */
#ifndef KEEL_TLS_CERTS_H
#define KEEL_TLS_CERTS_H

#include <stdbool.h>
#include <stddef.h>

#include "bearssl.h"

#define TLS_NAME_MAX 253 /* a DNS name (RFC 1035 §2.3.4) */

struct tls_cert {
	char name[TLS_NAME_MAX + 1]; /* the host name it serves; "default" for the fallback */
	br_x509_certificate *chain;  /* leaf first, DER */
	size_t chain_len;
	int key_type;                /* BR_KEYTYPE_EC or BR_KEYTYPE_RSA */
	br_skey_decoder_context *key;
	unsigned key_bits;           /* RSA modulus or EC curve size */
};

/* Decode and check one certificate: `crt` a PEM chain (leaf first), `key`
 * its PEM private key (SEC1 EC, PKCS#1 RSA or PKCS#8), for host `name`.
 * On error the reason, naming `what` (the files), goes to `why` and
 * nothing is kept: -EINVAL (unreadable PEM or DER, an unsupported key),
 * -EKEYREJECTED (the key is not the certificate's), -ENOMEM. */
int tls_cert_load(struct tls_cert *c, const char *name, const void *crt, size_t crt_len, const void *key,
		  size_t key_len, char *why, size_t why_len);
void tls_cert_free(struct tls_cert *c);

/* The certificates, for the handshake: a client's SNI name (NULL or
 * empty without one) picks the one of that name (case-insensitive), else
 * the one named "default", else the first. NULL if there are none. */
void tls_certs_set(struct tls_cert *certs, size_t n);
const struct tls_cert *tls_cert_for(const char *sni);
size_t tls_cert_count(void);

#endif
