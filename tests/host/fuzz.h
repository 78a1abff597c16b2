/* What every libFuzzer target here shares. A failed invariant names
 * itself on stderr, then aborts: libFuzzer saves the input as a crash. */
#ifndef KEEL_TESTS_HOST_FUZZ_H
#define KEEL_TESTS_HOST_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define INVARIANT(cond)                                                                                      \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);         \
			abort();                                                                             \
		}                                                                                            \
	} while (0)

#endif
