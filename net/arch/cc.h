/* lwIP's compiler/platform glue for Keel (lwip/arch.h lists the hooks). */
#ifndef KEEL_LWIP_ARCH_CC_H
#define KEEL_LWIP_ARCH_CC_H

#include <limits.h>
#include <stdint.h>

#ifndef SSIZE_MAX
#define SSIZE_MAX LONG_MAX /* lwip/arch.h otherwise typedefs its own ssize_t */
#endif
#define LWIP_TIMEVAL_PRIVATE 0

uint32_t net_rand(void);
void net_lwip_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void net_lwip_assert(const char *msg, const char *file, int line) __attribute__((__noreturn__));

#define LWIP_RAND() net_rand()
#define LWIP_PLATFORM_DIAG(x) net_lwip_diag x
#define LWIP_PLATFORM_ASSERT(x) net_lwip_assert(x, __FILE__, __LINE__)

#endif
