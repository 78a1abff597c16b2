/*
 * tls/certs.c over BearSSL's real decoders: certificates and keys made by
 * openssl at run time (in a temporary directory, never committed), each
 * form Keel accepts, each way a pair can be wrong, and SNI's choice.
 */
#include "tests/host/test.h"

#include <errno.h>
#include <stdarg.h>

#include "tls/certs.h"

static char dir[] = "/tmp/keel-test-certs-XXXXXX";
static char why[128];

/* Run an openssl command line in dir; false if it failed. */
static bool sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(cmd, sizeof cmd, "cd %s && (", dir);
	vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
	va_end(ap);
	/* the command's own redirections stay its own */
	strncat(cmd, ") >/dev/null 2>&1", sizeof cmd - strlen(cmd) - 1);
	return system(cmd) == 0;
}

/* The file's bytes (malloc'd, not NUL-terminated: the loader must not
 * need it), *len its length. */
static char *slurp(const char *name, size_t *len)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		*len = 0;
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	char *p = malloc(*len ? *len : 1);
	if (fread(p, 1, *len, f) != *len)
		*len = 0;
	fclose(f);
	return p;
}

static int load(struct tls_cert *c, const char *name, const char *crt, const char *key)
{
	size_t cn, kn;
	char *cp = slurp(crt, &cn), *kp = slurp(key, &kn);
	why[0] = 0;
	int r = tls_cert_load(c, name, cp, cn, kp, kn, why, sizeof why);
	free(cp);
	free(kp);
	return r;
}

static bool make_pairs(void)
{
	const char *x509 = "openssl req -x509 -nodes -days 30 -subj /CN=%s -keyout %s.key -out %s.crt %s";
	return sh(x509, "ec", "ec", "ec", "-newkey ec -pkeyopt ec_paramgen_curve:P-256") &&
	       sh(x509, "ec2", "ec2", "ec2", "-newkey ec -pkeyopt ec_paramgen_curve:P-256") &&
	       sh(x509, "p384", "p384", "p384", "-newkey ec -pkeyopt ec_paramgen_curve:P-384") &&
	       sh(x509, "p521", "p521", "p521", "-newkey ec -pkeyopt ec_paramgen_curve:P-521") &&
	       sh(x509, "rsa", "rsa", "rsa", "-newkey rsa:2048") &&
	       sh(x509, "rsa1k", "rsa1k", "rsa1k", "-newkey rsa:1024") &&
	       /* SEC1 with its EC PARAMETERS block first, as `openssl ecparam -genkey` writes */
	       sh("openssl ecparam -name prime256v1 -genkey -out sec1.key && "
		  "openssl req -x509 -key sec1.key -days 30 -subj /CN=sec1 -out sec1.crt") &&
	       /* PKCS#1 RSA ("RSA PRIVATE KEY") */
	       sh("openssl rsa -in rsa.key -traditional -out rsa1.key") &&
	       /* a chain: leaf then its issuer */
	       sh("cat ec.crt ec2.crt > chain.crt") &&
	       sh("head -c 300 ec.crt > cut.crt && echo garbage > junk.pem") &&
	       sh("printf %%s \"$(cat ec.key)\" > nonl.key"); /* no final newline */
}

static void t_ec(void)
{
	struct tls_cert c;
	if (!CHECK(load(&c, "default", "ec.crt", "ec.key") == 0))
		return;
	CHECK(c.key_type == BR_KEYTYPE_EC && c.key_bits == 256 && c.chain_len == 1);
	CHECK(!strcmp(c.name, "default"));
	tls_cert_free(&c);
}

static void t_forms(void)
{
	struct tls_cert c;
	CHECK(load(&c, "a", "p384.crt", "p384.key") == 0 && c.key_bits == 384);
	tls_cert_free(&c);
	CHECK(load(&c, "a", "rsa.crt", "rsa.key") == 0 && c.key_type == BR_KEYTYPE_RSA && c.key_bits == 2048);
	tls_cert_free(&c);
	CHECK(load(&c, "a", "rsa.crt", "rsa1.key") == 0); /* PKCS#1 */
	tls_cert_free(&c);
	CHECK(load(&c, "a", "sec1.crt", "sec1.key") == 0); /* SEC1 after EC PARAMETERS */
	tls_cert_free(&c);
	CHECK(load(&c, "a", "ec.crt", "nonl.key") == 0);   /* no final newline */
	tls_cert_free(&c);
}

static void t_chain(void)
{
	struct tls_cert c;
	if (CHECK(load(&c, "a", "chain.crt", "ec.key") == 0))
		CHECK(c.chain_len == 2);
	tls_cert_free(&c);
	/* the key must be the first certificate's */
	CHECK(load(&c, "a", "chain.crt", "ec2.key") == -EKEYREJECTED);
}

static void t_mismatch(void)
{
	struct tls_cert c;
	CHECK(load(&c, "a", "ec.crt", "ec2.key") == -EKEYREJECTED && strstr(why, "does not match"));
	CHECK(load(&c, "a", "ec.crt", "rsa.key") == -EKEYREJECTED && strstr(why, "RSA"));
	CHECK(load(&c, "a", "rsa.crt", "ec.key") == -EKEYREJECTED);
	CHECK(c.chain == NULL && c.key == NULL); /* nothing kept on failure */
}

static void t_refused_keys(void)
{
	struct tls_cert c;
	CHECK(load(&c, "a", "rsa1k.crt", "rsa1k.key") == -EINVAL && strstr(why, "1024"));
	CHECK(load(&c, "a", "p521.crt", "p521.key") == -EINVAL && strstr(why, "curve"));
}

static void t_bad_pem(void)
{
	struct tls_cert c;
	CHECK(load(&c, "a", "junk.pem", "ec.key") == -EINVAL && strstr(why, "certificate"));
	CHECK(load(&c, "a", "cut.crt", "ec.key") == -EINVAL);
	CHECK(load(&c, "a", "ec.crt", "junk.pem") == -EINVAL && strstr(why, "private key"));
	CHECK(load(&c, "a", "ec.crt", "ec.crt") == -EINVAL); /* a certificate where the key goes */
	CHECK(load(&c, "a", "ec.key", "ec.key") == -EINVAL); /* and the other way round */
	CHECK(load(&c, "a", "absent", "ec.key") == -EINVAL);
}

static void t_sni(void)
{
	struct tls_cert c[3];
	if (!CHECK(load(&c[0], "one.test", "ec.crt", "ec.key") == 0 &&
		   load(&c[1], "default", "ec2.crt", "ec2.key") == 0 &&
		   load(&c[2], "two.test", "rsa.crt", "rsa.key") == 0))
		return;
	tls_certs_set(c, 3);
	CHECK(tls_cert_count() == 3);
	CHECK(tls_cert_for("two.test") == &c[2]);
	CHECK(tls_cert_for("ONE.Test") == &c[0]); /* DNS names are case-insensitive */
	CHECK(tls_cert_for(NULL) == &c[1] && tls_cert_for("") == &c[1]);
	CHECK(tls_cert_for("unknown.test") == &c[1]);
	tls_certs_set(c, 1); /* no "default": the first serves the rest */
	CHECK(tls_cert_for("unknown.test") == &c[0]);
	tls_certs_set(NULL, 0);
	CHECK(tls_cert_for("one.test") == NULL);
	for (int i = 0; i < 3; i++)
		tls_cert_free(&c[i]);
}

static const struct test_case cases[] = {
    {"ECDSA P-256 certificate and key", t_ec},
    {"P-384, RSA-2048, PKCS#1, SEC1 with parameters, no final newline", t_forms},
    {"chain of two: the key is the leaf's", t_chain},
    {"a key of another certificate or type is refused", t_mismatch},
    {"RSA-1024 and P-521 are refused with the reason", t_refused_keys},
    {"garbage, truncated or swapped PEM is refused", t_bad_pem},
    {"SNI picks by name, else default, else the first", t_sni},
};

int main(void)
{
	test_init("certs");
	if (!mkdtemp(dir) || !make_pairs()) {
		printf("FAIL host/certs: openssl could not make the test certificates in %s\n", dir);
		return 1;
	}
	test_run(cases, TEST_COUNT(cases));
	sh("rm -f *.crt *.key *.pem");
	rmdir(dir);
	return test_finish();
}
