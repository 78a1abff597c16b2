/*
 * libFuzzer target for tls/certs.c: arbitrary bytes as a certificate
 * chain and a key (split by the first byte), each in an exact-size heap
 * buffer so ASan sees a read past it. Whatever the input: a result of 0
 * or a negative errno with a reason; on 0 a leaf and a key of a kind the
 * policy takes; on failure nothing kept. (A fuzzer will not forge a
 * matching pair: the accepting path is test_certs' job.)
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tests/host/fuzz.h"
#include "tls/certs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	size_t split = (size_t)data[0] * (size - 1) / 255;
	char *crt = malloc(split ? split : 1), *key = malloc(size - 1 - split ? size - 1 - split : 1);
	memcpy(crt, data + 1, split);
	memcpy(key, data + 1 + split, size - 1 - split);
	struct tls_cert c;
	char why[96] = "";
	int r = tls_cert_load(&c, "fuzz", crt, split, key, size - 1 - split, why, sizeof why);
	INVARIANT(r == 0 || r == -EINVAL || r == -EKEYREJECTED || r == -ENOMEM);
	if (r == 0) {
		INVARIANT(c.chain_len >= 1 && c.key);
		INVARIANT(c.key_type == BR_KEYTYPE_EC || c.key_type == BR_KEYTYPE_RSA);
		tls_cert_free(&c);
	} else {
		INVARIANT(why[0] && memchr(why, 0, sizeof why));
		INVARIANT(!c.chain && !c.key && !c.chain_len);
	}
	free(crt);
	free(key);
	return 0;
}
