/* HTTPS start-up: the TLS options, the certificates from the boot bundle
 * (tls/NAME.crt + tls/NAME.key, NAME the host name SNI selects, "default"
 * for clients that send none), the session cache. All or nothing: one
 * unusable certificate keeps HTTPS off (never a listener that serves
 * some names and not others), and plain HTTP serves on. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/bundle.h"
#include "kernel/cmdline.h"
#include "kernel/log.h"
#include "kernel/random.h"
#include "tls/internal.h"

#define CACHE_ENTRY_BYTES 100 /* BearSSL's LRU cache: ssl_lru.c */
#define MAX_CERTS 16

struct tls_options tls_opt;
static const struct cmdline_option options[] = {
    CMDLINE_SECONDS_ROW("tls_handshake_timeout", tls_opt.handshake_ns, 5, 1, 600,
			"seconds a client has to complete the TLS handshake (then the connection is closed)"),
    CMDLINE_UINT_ROW("tls_max_handshakes", tls_opt.max_handshakes, 128, 1, 100000,
		     "TLS handshakes under way at once; then the oldest past a second is dropped, or new ones reset"),
    CMDLINE_UINT_ROW("tls_session_cache", tls_opt.session_cache, 256, 0, 100000,
		     "TLS sessions kept for resumption, shared by the certificates (100 bytes each); 0: none"),
};
CMDLINE_TABLE(tls, options);

static struct tls_cert certs[MAX_CERTS];

/* ---- session cache ---- */

/* A session resumes only under the certificate it was made with: RFC
 * 6066 §3 forbids resuming it for another server name. BearSSL's LRU
 * cache keys by session ID alone, so each certificate has one, and this
 * front picks it by the client's SNI, as the handshake picks the
 * certificate (tls_cert_for). */
static br_ssl_session_cache_lru caches[MAX_CERTS];
static bool have_cache;

static br_ssl_session_cache_lru *cache_for(const br_ssl_server_context *sc)
{
	const struct tls_cert *c = tls_cert_for(br_ssl_engine_get_server_name(&sc->eng));
	return c ? &caches[c - certs] : NULL;
}

static void cache_save(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
		       const br_ssl_session_parameters *params)
{
	(void)ctx;
	br_ssl_session_cache_lru *c = cache_for(sc);
	if (c)
		c->vtable->save(&c->vtable, sc, params);
}

static int cache_load(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
		      br_ssl_session_parameters *params)
{
	(void)ctx;
	br_ssl_session_cache_lru *c = cache_for(sc);
	return c ? c->vtable->load(&c->vtable, sc, params) : 0;
}

static const br_ssl_session_cache_class cache_front = {sizeof(br_ssl_session_cache_class *), cache_save,
						       cache_load};
static const br_ssl_session_cache_class *cache_front_ptr = &cache_front;

const br_ssl_session_cache_class **tls_session_cache(void)
{
	return have_cache ? &cache_front_ptr : NULL;
}

/* tls_session_cache entries, shared evenly by the certificates. */
static bool cache_init(size_t ncerts)
{
	size_t per = tls_opt.session_cache / ncerts, bytes = per * CACHE_ENTRY_BYTES;
	if (!per)
		return false;
	for (size_t i = 0; i < ncerts; i++) {
		unsigned char *store = malloc(bytes);
		if (!store) {
			log_warn("tls", "no memory for the session cache: no resumption");
			return false; /* the stores already made stay unused: boot-time, bounded */
		}
		br_ssl_session_cache_lru_init(&caches[i], store, bytes);
	}
	return true;
}

/* Is f "tls/NAME.ext" with a NAME? (bundle_list("tls/") gave the prefix) */
static bool has_ext(const struct bundle_file *f, const char *ext)
{
	size_t n = strlen(f->name), e = strlen(ext);
	return n > 4 + e && !strcmp(f->name + n - e, ext);
}

/* NAME of "tls/NAME.ext", if f is one and NAME fits; false otherwise. */
static bool cert_name(const struct bundle_file *f, const char *ext, char *name, size_t cap)
{
	size_t n = strlen(f->name), e = strlen(ext);
	if (!has_ext(f, ext) || n - 4 - e >= cap)
		return false;
	memcpy(name, f->name + 4, n - 4 - e);
	name[n - 4 - e] = 0;
	return true;
}

/* Every NAME.crt with its NAME.key; the number loaded, or < 0 after
 * naming the first file that could not be used. */
static int load_certs(void)
{
	size_t nfiles, n = 0;
	const struct bundle_file *f = bundle_list("tls/", &nfiles);
	char name[TLS_NAME_MAX + 1], path[TLS_NAME_MAX + 16], why[sizeof "no private key ()" + sizeof path];
	for (size_t i = 0; i < nfiles; i++) {
		if (cert_name(&f[i], ".key", name, sizeof name)) {
			snprintf(path, sizeof path, "tls/%s.crt", name);
			if (!bundle_file(path, NULL))
				log_warn("tls", "%s has no certificate (%s)", f[i].name, path);
			continue;
		}
		if (!cert_name(&f[i], ".crt", name, sizeof name))
			continue;
		size_t key_len;
		snprintf(path, sizeof path, "tls/%s.key", name);
		const void *key = bundle_file(path, &key_len);
		int err = -EINVAL;
		if (!key)
			snprintf(why, sizeof why, "no private key (%s)", path);
		else if (n == MAX_CERTS)
			snprintf(why, sizeof why, "more than %d certificates", MAX_CERTS);
		else
			err = tls_cert_load(&certs[n], name, f[i].data, f[i].size, key, key_len, why, sizeof why);
		if (err) {
			log_err("tls", "%s: %s", f[i].name, why);
			return err;
		}
		log_info("tls", "certificate for %s: %s %u bits, %zu in the chain", name,
			 certs[n].key_type == BR_KEYTYPE_EC ? "ECDSA" : "RSA", certs[n].key_bits, certs[n].chain_len);
		n++;
	}
	return (int)n;
}

/* The keys' PEM is not needed once decoded (or refused): erased from the
 * bundle's memory, so a private key exists once, in its decoder state. */
static void erase_keys(void)
{
	size_t n;
	const struct bundle_file *f = bundle_list("tls/", &n);
	for (size_t i = 0; i < n; i++)
		if (has_ext(&f[i], ".key"))
			bundle_erase(f[i].name);
}

int tls_init(void)
{
	if (!random_ready()) {
		log_err("tls", "no hardware entropy source (RDSEED, RDRAND or virtio-rng): HTTPS off");
		erase_keys();
		return -ENODEV;
	}
	int n = load_certs();
	erase_keys();
	if (n <= 0) {
		for (int i = 0; i < MAX_CERTS; i++)
			if (certs[i].chain)
				tls_cert_free(&certs[i]);
		if (n == 0)
			log_warn("tls", "no certificate in the boot bundle (tls/NAME.crt + tls/NAME.key): HTTPS off");
		else
			log_err("tls", "a certificate could not be used: HTTPS off");
		return n ? n : -ENOENT;
	}
	tls_certs_set(certs, (size_t)n);
	have_cache = cache_init((size_t)n);
	log_info("tls", "%d certificate%s; session cache %u entries each; AES-NI %s", n, n == 1 ? "" : "s",
		 have_cache ? tls_opt.session_cache / (unsigned)n : 0, br_aes_x86ni_ctr_get_vtable() ? "yes" : "no");
	return 0;
}
