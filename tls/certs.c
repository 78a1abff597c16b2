/* Certificates and keys: PEM (RFC 7468) to DER with BearSSL's decoders,
 * the leaf's public key compared with the private key, the table SNI
 * looks names up in. Everything is decoded at boot; a handshake only
 * picks an entry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernel/wipe.h"
#include "tls/certs.h"

#define DER_MAX 65536    /* one certificate or key; real ones are a few KiB */
#define CHAIN_MAX 8      /* certificates in a chain */
#define RSA_MIN_BITS 2048

struct der {
	unsigned char *p;
	size_t len, cap;
	bool failed; /* too large or out of memory */
};

static void der_append(void *ctx, const void *data, size_t len)
{
	struct der *d = ctx;
	if (d->failed)
		return;
	if (d->len + len > DER_MAX) {
		d->failed = true;
		return;
	}
	if (d->len + len > d->cap) { /* grown by hand: realloc would leave key bytes behind */
		size_t cap = d->cap ? d->cap * 2 : 2048;
		while (cap < d->len + len)
			cap *= 2;
		unsigned char *p = malloc(cap);
		if (!p) {
			d->failed = true;
			return;
		}
		if (d->p) {
			memcpy(p, d->p, d->len);
			wipe(d->p, d->cap);
			free(d->p);
		}
		d->p = p;
		d->cap = cap;
	}
	memcpy(d->p + d->len, data, len);
	d->len += len;
}

typedef int (*pem_object_fn)(void *ctx, const char *label, struct der *der);

/* Call fn for each PEM object in text[0, len): its label ("CERTIFICATE")
 * and DER bytes. -EINVAL for malformed PEM, or fn's error. */
static int pem_each(const char *text, size_t len, pem_object_fn fn, void *ctx)
{
	br_pem_decoder_context pc;
	struct der der = {0};
	char label[128]; /* br_pem_decoder_context.name's size */
	bool in_obj = false;
	int err = 0;

	br_pem_decoder_init(&pc);
	/* A final "\n" ends the last line when the file lacks one (BearSSL's
	 * decoder acts on complete lines). */
	for (int pass = 0; pass < 2 && !err; pass++) {
		const char *p = pass ? "\n" : text;
		size_t left = pass ? 1 : len;
		while (left && !err) {
			size_t n = br_pem_decoder_push(&pc, p, left);
			p += n;
			left -= n;
			switch (br_pem_decoder_event(&pc)) {
			case BR_PEM_BEGIN_OBJ:
				snprintf(label, sizeof label, "%s", br_pem_decoder_name(&pc));
				der.len = 0;
				der.failed = false;
				br_pem_decoder_setdest(&pc, der_append, &der);
				in_obj = true;
				break;
			case BR_PEM_END_OBJ:
				err = der.failed ? -EINVAL : fn(ctx, label, &der);
				in_obj = false;
				break;
			case BR_PEM_ERROR:
				err = -EINVAL;
				break;
			}
		}
	}
	if (der.p)
		wipe(der.p, der.cap); /* it may have held a private key */
	free(der.p);
	wipe(&pc, sizeof pc);
	return err ? err : in_obj ? -EINVAL : 0;
}

/* ---- certificate chains ---- */

static int add_cert(void *ctx, const char *label, struct der *der)
{
	struct tls_cert *c = ctx;
	if (strcmp(label, "CERTIFICATE") && strcmp(label, "X509 CERTIFICATE"))
		return 0; /* other objects (parameters) are not ours to use */
	if (c->chain_len == CHAIN_MAX)
		return -E2BIG;
	unsigned char *copy = malloc(der->len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, der->p, der->len);
	c->chain[c->chain_len++] = (br_x509_certificate){copy, der->len};
	return 0;
}

/* ---- private keys ---- */

static int add_key(void *ctx, const char *label, struct der *der)
{
	struct tls_cert *c = ctx;
	if (strcmp(label, "PRIVATE KEY") && strcmp(label, "EC PRIVATE KEY") && strcmp(label, "RSA PRIVATE KEY"))
		return 0; /* "EC PARAMETERS" precedes the key in openssl's output */
	if (c->key)
		return -E2BIG;
	c->key = malloc(sizeof *c->key);
	if (!c->key)
		return -ENOMEM;
	br_skey_decoder_init(c->key);
	br_skey_decoder_push(c->key, der->p, der->len);
	return br_skey_decoder_last_error(c->key) ? -EINVAL : 0;
}

/* ---- does the key belong to the leaf? ---- */

static bool same_bytes(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
	while (an && !*a) /* RSA moduli: leading zero bytes do not count */
		a++, an--;
	while (bn && !*b)
		b++, bn--;
	return an == bn && !memcmp(a, b, an);
}

/* The leaf's public key decoded; then the key's public half recomputed
 * and compared. Sets key_type and key_bits. */
static int check_pair(struct tls_cert *c, char *why, size_t why_len)
{
	br_x509_decoder_context *dc = malloc(sizeof *dc);
	if (!dc)
		return -ENOMEM;
	br_x509_decoder_init(dc, NULL, NULL);
	br_x509_decoder_push(dc, c->chain[0].data, c->chain[0].data_len);
	const br_x509_pkey *pk = br_x509_decoder_get_pkey(dc);
	int err = 0;
	c->key_type = br_skey_decoder_key_type(c->key);
	if (!pk) {
		snprintf(why, why_len, "the first certificate does not decode (X.509 error %d)",
			 br_x509_decoder_last_error(dc));
		err = -EINVAL;
	} else if (pk->key_type != c->key_type) {
		snprintf(why, why_len, "the key is %s but the certificate's is %s",
			 c->key_type == BR_KEYTYPE_EC ? "EC" : "RSA", pk->key_type == BR_KEYTYPE_EC ? "EC" : "RSA");
		err = -EKEYREJECTED;
	} else if (c->key_type == BR_KEYTYPE_EC) {
		const br_ec_private_key *sk = br_skey_decoder_get_ec(c->key);
		unsigned char q[BR_EC_KBUF_PUB_MAX_SIZE];
		br_ec_public_key pub;
		size_t qn = br_ec_compute_pub(br_ec_get_default(), &pub, q, sk);
		c->key_bits = sk->curve == BR_EC_secp256r1 ? 256 : sk->curve == BR_EC_secp384r1 ? 384 : 0;
		if (!c->key_bits) {
			snprintf(why, why_len, "EC curve %d is not offered (P-256 or P-384)", sk->curve);
			err = -EINVAL;
		} else if (!qn || pk->key.ec.curve != sk->curve ||
			   !same_bytes(q, qn, pk->key.ec.q, pk->key.ec.qlen)) {
			snprintf(why, why_len, "the key does not match the certificate");
			err = -EKEYREJECTED;
		}
	} else {
		const br_rsa_private_key *sk = br_skey_decoder_get_rsa(c->key);
		unsigned char n[512];
		br_rsa_compute_modulus modulus = br_rsa_compute_modulus_get_default();
		size_t nn = (sk->n_bitlen + 7) / 8 <= sizeof n ? modulus(n, sk) : 0;
		c->key_bits = sk->n_bitlen;
		if (sk->n_bitlen < RSA_MIN_BITS || !nn) {
			snprintf(why, why_len, "RSA keys of %u bits are not offered (2048 to 4096)", sk->n_bitlen);
			err = -EINVAL;
		} else if (!same_bytes(n, nn, pk->key.rsa.n, pk->key.rsa.nlen)) {
			snprintf(why, why_len, "the key does not match the certificate");
			err = -EKEYREJECTED;
		}
	}
	free(dc);
	return err;
}

void tls_cert_free(struct tls_cert *c)
{
	for (size_t i = 0; c->chain && i < c->chain_len; i++)
		free(c->chain[i].data);
	free(c->chain);
	if (c->key)
		wipe(c->key, sizeof *c->key); /* the private key does not linger in freed memory */
	free(c->key);
	memset(c, 0, sizeof *c);
}

int tls_cert_load(struct tls_cert *c, const char *name, const void *crt, size_t crt_len, const void *key,
		  size_t key_len, char *why, size_t why_len)
{
	memset(c, 0, sizeof *c);
	snprintf(c->name, sizeof c->name, "%s", name);
	c->chain = calloc(CHAIN_MAX, sizeof *c->chain);
	int err = c->chain ? pem_each(crt, crt_len, add_cert, c) : -ENOMEM;
	if (err || !c->chain_len) {
		snprintf(why, why_len, "%s", err == -E2BIG ? "more than 8 certificates in the chain"
					     : err == -ENOMEM ? "out of memory"
							      : "no PEM certificate in it");
		err = err == -ENOMEM ? err : -EINVAL;
	} else if ((err = pem_each(key, key_len, add_key, c)) < 0 || !c->key) {
		snprintf(why, why_len, "%s", err == -E2BIG ? "more than one private key in the key file"
					     : err == -ENOMEM ? "out of memory"
							      : "no readable PEM private key in the key file");
		err = err == -ENOMEM ? err : -EINVAL;
	} else {
		err = check_pair(c, why, why_len);
	}
	if (err)
		tls_cert_free(c);
	return err;
}

/* ---- the table SNI looks in ---- */

static struct tls_cert *certs;
static size_t ncerts;

void tls_certs_set(struct tls_cert *c, size_t n)
{
	certs = c;
	ncerts = n;
}

size_t tls_cert_count(void) { return ncerts; }

const struct tls_cert *tls_cert_for(const char *sni)
{
	const struct tls_cert *fallback = ncerts ? &certs[0] : NULL;
	for (size_t i = 0; i < ncerts; i++) {
		if (sni && *sni && !strcasecmp(certs[i].name, sni))
			return &certs[i];
		if (!strcmp(certs[i].name, "default"))
			fallback = &certs[i];
	}
	return fallback;
}
