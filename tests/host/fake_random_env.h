/* Host fakes of what kernel/random.c needs besides BearSSL: the kernel
 * log (kernel/log.h), kept so a test can check the lines it wrote, and
 * the virtio-rng driver (drivers/virtio/virtio_rng.h), absent here:
 * tests hand random_seed_from() their own sources instead. */
#ifndef KEEL_FAKE_RANDOM_ENV_H
#define KEEL_FAKE_RANDOM_ENV_H

#include "kernel/log.h"

/* The last line logged ("<subsystem>: <message>"), its level, and how
 * many lines were logged since fake_log_reset(). */
extern char fake_log_last[256];
extern enum log_level fake_log_last_level;
extern int fake_log_lines;
void fake_log_reset(void);

#endif
