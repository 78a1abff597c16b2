/* Intel 8254x (e1000, QEMU's 82540EM). */
#ifndef KEEL_E1000_H
#define KEEL_E1000_H

/* Find, initialise and netdev_register() an e1000. Returns 0, or a
 * negative errno (-ENODEV if there is none). */
int e1000_probe(void);

#endif
