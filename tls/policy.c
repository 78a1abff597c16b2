/* Keel's TLS policy, applied to every server context (model: BearSSL's
 * br_ssl_server_init_full_ec, narrowed): TLS 1.2 only, ECDHE with AEAD
 * suites only, the server's order, no renegotiation, ALPN, and a
 * certificate chosen per handshake by SNI. */
#include <stddef.h>

#include "tls/internal.h"

/* Forward secrecy (ECDHE) and AEADs only (RFC 9325 §4.2). AES-128-GCM
 * leads where AES-NI makes it the fastest; without it, ChaCha20-Poly1305
 * is faster and constant-time in software (RFC 7905 §1). BearSSL's
 * choosers skip the suites whose signature does not fit the chosen key,
 * so both families sit in one list. */
static const uint16_t suites_aesni[] = {
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,       BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,       BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};
static const uint16_t suites_soft[] = {
    BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,       BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,       BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};

static const struct {
	uint16_t id;
	const char *name;
} suite_names[] = {
    {BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE-RSA-AES128-GCM-SHA256"},
    {BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE-RSA-CHACHA20-POLY1305"},
    {BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE-RSA-AES256-GCM-SHA384"},
};

const char *tls_suite_name(uint16_t suite)
{
	for (size_t i = 0; i < sizeof suite_names / sizeof suite_names[0]; i++)
		if (suite_names[i].id == suite)
			return suite_names[i].name;
	return "unknown";
}

/* ALPN (RFC 7301): "h2" joins when HTTP/2 lands. A client offering only
 * protocols we lack still gets HTTP/1.1 (BearSSL's default without
 * BR_OPT_FAIL_ON_ALPN_MISMATCH), as nginx and Go do. */
static const char *alpn[] = {"http/1.1"};

/* The SNI chooser: the client's server name (RFC 6066 §3) picks the
 * certificate; BearSSL's single-chain policy for that key then makes the
 * suite and hash choice, and the engine calls it (not us) for the
 * signature, since br_ssl_server_set_single_* points policy_vtable at it. */
static int choose(const br_ssl_server_policy_class **pctx, const br_ssl_server_context *cc,
		  br_ssl_server_choices *choices)
{
	struct tls_chooser *ch = (struct tls_chooser *)pctx;
	const struct tls_cert *c = tls_cert_for(br_ssl_engine_get_server_name(&cc->eng));
	if (!c)
		return 0;
	ch->cert = c;
	if (c->key_type == BR_KEYTYPE_EC)
		br_ssl_server_set_single_ec(ch->sc, c->chain, c->chain_len, br_skey_decoder_get_ec(c->key),
					    BR_KEYTYPE_SIGN, BR_KEYTYPE_EC, br_ec_get_default(),
					    br_ecdsa_sign_asn1_get_default());
	else
		br_ssl_server_set_single_rsa(ch->sc, c->chain, c->chain_len, br_skey_decoder_get_rsa(c->key),
					     BR_KEYTYPE_SIGN, br_rsa_private_get_default(),
					     br_rsa_pkcs1_sign_get_default());
	/* BR_KEYTYPE_SIGN alone: the key signs ECDHE parameters and never
	 * decrypts a premaster secret (no RSA key exchange). */
	return (*ch->sc->policy_vtable)->choose(ch->sc->policy_vtable, cc, choices);
}

/* Never called: choose() hands the policy over before key operations. */
static uint32_t no_keyx(const br_ssl_server_policy_class **pctx, unsigned char *data, size_t *len)
{
	(void)pctx, (void)data, (void)len;
	return 0;
}

static size_t no_sign(const br_ssl_server_policy_class **pctx, unsigned algo_id, unsigned char *data,
		      size_t hv_len, size_t len)
{
	(void)pctx, (void)algo_id, (void)data, (void)hv_len, (void)len;
	return 0;
}

static const br_ssl_server_policy_class chooser_vtable = {sizeof(struct tls_chooser), choose, no_keyx, no_sign};

void tls_policy_apply(br_ssl_server_context *sc, struct tls_chooser *ch)
{
	br_ssl_engine_context *eng = &sc->eng;
	br_ssl_server_zero(sc);
	br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
	if (br_aes_x86ni_ctr_get_vtable())
		br_ssl_engine_set_suites(eng, suites_aesni, sizeof suites_aesni / sizeof suites_aesni[0]);
	else
		br_ssl_engine_set_suites(eng, suites_soft, sizeof suites_soft / sizeof suites_soft[0]);
	br_ssl_engine_set_default_ec(eng);
	/* Hashes for the TLS 1.2 PRF and for signatures the client accepts
	 * (RFC 5246 §7.4.1.4.1). No MD5 or SHA-1 (RFC 9155 §2): a client
	 * that offers only those, or sends no signature_algorithms (which
	 * means SHA-1), gets handshake_failure. */
	br_ssl_engine_set_hash(eng, br_sha224_ID, &br_sha224_vtable);
	br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
	br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
	br_ssl_engine_set_hash(eng, br_sha512_ID, &br_sha512_vtable);
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_aes_gcm(eng); /* AES-NI + PCLMUL where present */
	br_ssl_engine_set_default_chapol(eng);  /* SSE2 ChaCha20 where present */
	br_ssl_engine_set_all_flags(eng, BR_OPT_ENFORCE_SERVER_PREFERENCES | BR_OPT_NO_RENEGOTIATION);
	br_ssl_engine_set_protocol_names(eng, alpn, sizeof alpn / sizeof alpn[0]);
	ch->vtable = &chooser_vtable;
	ch->sc = sc;
	ch->cert = NULL;
	br_ssl_server_set_policy(sc, &ch->vtable);
	const br_ssl_session_cache_class **cache = tls_session_cache();
	if (cache)
		br_ssl_server_set_cache(sc, cache);
}
