/* The appliance entry point: called once at the end of boot, in the idle
 * task's context; it spawns the appliance's tasks and returns. The test
 * image links tests/qemu/ktest.c in its place. */
#ifndef KEEL_APP_H
#define KEEL_APP_H

struct mux;

void app_main(void);
/* Register the appliance's routes (app/routes.c); < 0 on a bad pattern
 * or when a middleware could not be built. rate_limit: requests per
 * second per client (0: unlimited). */
int app_routes(struct mux *mux, unsigned rate_limit);

#endif
