/*
 * The boot bundle: configuration without rebuilding the image. A cpio
 * archive (newc, see kernel/cpio.h) that the loader hands over, as the
 * PVH initrd (qemu -kernel keel.elf -initrd bundle.cpio) or as the first
 * multiboot2 module (GRUB's module2). `make bundle` builds one
 * (images/mkbundle.sh). What Keel reads from it:
 *
 *   cmdline          options, as on the loader's command line; the
 *                    loader's are applied after them and win
 *   tls/NAME.crt     PEM certificate chain for host NAME ("default": any)
 *   tls/NAME.key     its PEM private key
 *   site/...         files that replace the embedded static site
 *
 * Names are stored as in the archive less any leading "./" or "/" (what
 * `find . | cpio -o` writes), so "./site/a.html" is found as
 * "site/a.html". Directories and the other non-regular entries are left
 * out. A bundle that does not parse in full (bad magic, truncation, a
 * field that is not hex, duplicate names, ...) is rejected as a whole
 * with one console line naming the problem: the appliance then boots
 * with the embedded site and the loader's command line only.
 *
 * The files stay where the loader put them (pmm never hands out those
 * pages); pointers returned here are valid for the kernel's lifetime,
 * read-only.
 */
#ifndef KEEL_BUNDLE_H
#define KEEL_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

struct boot_info;

/* Longest cmdline file accepted, NUL included; longer ones are cut at the
 * last whitespace before it, with a warning. */
#define BUNDLE_CMDLINE_MAX 2048

struct bundle_file {
	const char *name; /* "tls/example.com.crt": NUL-terminated */
	const void *data;
	size_t size;
	int64_t mtime; /* seconds since the epoch, from the archive */
};

/*
 * Find, check and index the bundle the loader passed (bi->module_*), if
 * any; logs "keel: bundle: N files (M KiB) from the initrd|module", or why
 * it was rejected. Needs the final direct map and the heap (after
 * vmm_init). Called once.
 */
void bundle_init(const struct boot_info *bi);

/* The file named path ("cmdline", "tls/default.key"); NULL if there is no
 * bundle or no such file. *size (if not NULL) gets its length. */
const void *bundle_file(const char *path, size_t *size);

/* Zero a file's bytes where they lie and make it empty (a private key,
 * once decoded: its PEM does not stay in memory). */
void bundle_erase(const char *path);

/* The bundle's command line, NUL-terminated ("" without one). */
const char *bundle_cmdline(void);

/*
 * The files whose names start with prefix ("tls/", "site/"), sorted by
 * name (bytewise): a pointer to the first and their number in *count;
 * NULL and 0 if none.
 *
 *     size_t n;
 *     const struct bundle_file *f = bundle_list("tls/", &n);
 *     for (size_t i = 0; i < n; i++) use(f[i].name, f[i].data, f[i].size);
 */
const struct bundle_file *bundle_list(const char *prefix, size_t *count);

#endif
