/*
 * The boot bundle (see bundle.h): the first boot module, checked in full
 * and indexed once at boot. The index is an array of the regular files
 * sorted by name, so a lookup is a binary search and the files under a
 * prefix are one contiguous slice. File data is never copied: it stays in
 * the module's pages, which pmm_init left out of the free memory.
 *
 * All or nothing: a bundle with one bad entry is rejected whole, since a
 * half-read bundle (the site without its last files, a certificate
 * without its key) would serve something no one asked for.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kernel/boot.h"
#include "kernel/bundle.h"
#include "kernel/cpio.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/wipe.h"

static struct bundle_file *files;
static size_t nfiles;
static char cmdline[BUNDLE_CMDLINE_MAX];

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct bundle_file *)a)->name, ((const struct bundle_file *)b)->name);
}

/* One pass over the archive: counts the regular files into *n and, if out
 * is not NULL, records them. Returns 0 or the parser's error, *why set. */
static int walk(const void *buf, size_t len, struct bundle_file *out, size_t *n, const char **why, size_t *at)
{
	struct cpio_iter it;
	struct cpio_entry e;
	int r;

	*n = 0;
	cpio_init(&it, buf, len);
	while ((r = cpio_next(&it, &e)) > 0) {
		const char *name = e.name;
		if ((e.mode & CPIO_S_IFMT) == CPIO_S_IFDIR)
			continue;
		if ((e.mode & CPIO_S_IFMT) != CPIO_S_IFREG || !*name) {
			if (out) /* once, and only for an archive that parses */
				log_warn("bundle", "ignoring \"%s\": not a regular file", e.name);
			continue;
		}
		if (out)
			out[*n] = (struct bundle_file){name, e.data, e.size, e.mtime};
		(*n)++;
	}
	*why = it.error;
	*at = it.off;
	return r;
}

/* The first name that appears twice in the sorted index, or NULL. */
static const char *duplicate(const struct bundle_file *f, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (!strcmp(f[i - 1].name, f[i].name))
			return f[i].name;
	return NULL;
}

/* Does [pa, pa+len) lie inside one RAM range of the memory map? Only those
 * are in the direct map, and only those pmm_init kept the bundle out of. */
static bool in_ram(const struct boot_info *bi, uint64_t pa, uint64_t len)
{
	for (int i = 0; i < bi->nmem; i++) {
		const struct mem_region *r = &bi->mem[i];
		if (r->type == MEM_RAM && pa >= r->base && len <= r->len && pa - r->base <= r->len - len)
			return true;
	}
	return false;
}

/* The cmdline file as a C string: up to its first NUL, cut at the last
 * whitespace that fits so no option is cut in half. */
static void load_cmdline(void)
{
	size_t n;
	const char *s = bundle_file("cmdline", &n);
	if (!s)
		return;
	const char *nul = memchr(s, '\0', n);
	if (nul)
		n = (size_t)(nul - s);
	if (n >= sizeof cmdline) {
		size_t cut = sizeof cmdline - 1;
		while (cut && !strchr(" \t\r\n", s[cut]))
			cut--;
		log_warn("bundle", "cmdline is %zu bytes, more than %zu: using its first %zu", n,
			 sizeof cmdline - 1, cut);
		n = cut;
	}
	memcpy(cmdline, s, n);
	cmdline[n] = '\0';
}

/* Each rejection is one line: what was wrong, then what happens instead. */
#define FALLBACK "; booting with the embedded site and the loader's command line"

/* Index the archive: 0, or a negative errno after logging why. */
static int index_bundle(const void *buf, size_t len, const char *from)
{
	const char *why, *dup;
	size_t n, again, at;
	int err = walk(buf, len, NULL, &n, &why, &at);
	if (err < 0) {
		log_warn("bundle", "rejected %s (%zu bytes): %s at offset %zu" FALLBACK, from, len, why, at);
		return err;
	}
	struct bundle_file *f = malloc((n ? n : 1) * sizeof *f);
	if (!f) {
		log_warn("bundle", "rejected %s: no memory to index %zu files" FALLBACK, from, n);
		return -ENOMEM;
	}
	walk(buf, len, f, &again, &why, &at); /* the same archive: the same result */
	qsort(f, n, sizeof *f, by_name);
	if ((dup = duplicate(f, n))) {
		log_warn("bundle", "rejected %s: duplicate name \"%s\"" FALLBACK, from, dup);
		free(f);
		return -EEXIST;
	}
	files = f;
	nfiles = n;
	return 0;
}

void bundle_init(const struct boot_info *bi)
{
	const char *from = bi->loader && !strcmp(bi->loader, "pvh") ? "the initrd" : "the multiboot2 module";
	uint64_t pa = bi->module_pa, len = bi->module_len;

	if (!len)
		return;
	if (!in_ram(bi, pa, len)) {
		log_warn("bundle", "rejected %s at %#lx (%lu bytes): not in RAM" FALLBACK, from, pa, len);
		return;
	}
	if (index_bundle(phys_to_virt(pa), len, from) < 0)
		return;
	load_cmdline();
	log_info("bundle", "%zu file%s (%lu KiB) from %s", nfiles, nfiles == 1 ? "" : "s",
		 (len + 1023) / 1024, from);
	log_debug("bundle", "  at %#lx-%#lx, read in place", pa, pa + len);
	for (size_t i = 0; i < nfiles; i++)
		log_debug("bundle", "  %s (%zu bytes)", files[i].name, files[i].size);
}

static struct bundle_file *find(const char *path)
{
	size_t lo = 0, hi = nfiles;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(files[mid].name, path);
		if (!c)
			return &files[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const void *bundle_file(const char *path, size_t *size)
{
	const struct bundle_file *f = find(path);
	if (f && size)
		*size = f->size;
	return f ? f->data : NULL;
}

void bundle_erase(const char *path)
{
	struct bundle_file *f = find(path);
	if (!f)
		return;
	wipe((void *)(uintptr_t)f->data, f->size); /* the module's own pages: ours to write */
	f->size = 0;
}

const char *bundle_cmdline(void)
{
	return cmdline;
}

const struct bundle_file *bundle_list(const char *prefix, size_t *count)
{
	size_t plen = strlen(prefix), lo = 0, hi = nfiles;
	while (lo < hi) { /* the first name >= prefix */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(files[mid].name, prefix) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t end = lo;
	while (end < nfiles && !strncmp(files[end].name, prefix, plen))
		end++;
	*count = end - lo;
	return end > lo ? &files[lo] : NULL;
}
