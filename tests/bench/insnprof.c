/* A QEMU TCG plugin for `make profile`: counts the guest instructions
 * executed per translation block and, with io=on, the memory accesses
 * that reach a device (MMIO: under KVM each would be a VM exit). Exact and
 * deterministic, unlike host CPU time on a shared machine.
 *
 *   qemu-system-x86_64 -plugin build/insnprof.so,out=FILE[,io=on] ...
 *
 * At QEMU's exit FILE gets one line per block, `tb VADDR INSNS EXECS`, and
 * per device-access site, `io VADDR COUNT` (tests/bench/profile.py turns
 * them into a per-function table with keel.elf's symbols).
 *
 * The plugin API is QEMU's documented, versioned C ABI (docs/devel/tcg-
 * plugins.rst); its few declarations are written out below, as the
 * Debian package ships no header for it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef uint32_t qemu_plugin_meminfo_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_plugin_hwaddr;
typedef struct qemu_info_t qemu_info_t;

enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_mem_rw { QEMU_PLUGIN_MEM_R = 1, QEMU_PLUGIN_MEM_W, QEMU_PLUGIN_MEM_RW };

typedef void (*tb_trans_cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*mem_cb)(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata);
typedef void (*udata_cb)(qemu_plugin_id_t id, void *udata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
					      uint64_t imm);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn, mem_cb cb, enum qemu_plugin_cb_flags flags,
				      enum qemu_plugin_mem_rw rw, void *udata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, udata_cb cb, void *udata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
struct qemu_plugin_hwaddr *qemu_plugin_get_hwaddr(qemu_plugin_meminfo_t info, uint64_t vaddr);
bool qemu_plugin_hwaddr_is_io(const struct qemu_plugin_hwaddr *haddr);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* Open-addressed tables keyed by (vaddr, insns); never shrink. A kernel
 * of a few hundred KiB translates some tens of thousands of blocks. */
#define SLOTS (1u << 18)

struct slot {
	uint64_t vaddr;
	uint64_t insns; /* 0: free slot (a block has at least one instruction) */
	uint64_t count;
};

static struct slot tbs[SLOTS], ios[SLOTS];
static const char *out_path;

static struct slot *slot_for(struct slot *table, uint64_t vaddr, uint64_t insns)
{
	uint64_t h = (vaddr ^ insns * 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;
	for (uint32_t i = 0; i < SLOTS; i++) {
		struct slot *s = &table[(h + i) & (SLOTS - 1)];
		if (s->insns == insns && s->vaddr == vaddr)
			return s;
		if (!s->insns) {
			s->vaddr = vaddr;
			s->insns = insns;
			return s;
		}
	}
	fprintf(stderr, "insnprof: table full\n");
	abort();
}

static void on_mem(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata)
{
	(void)vcpu;
	struct qemu_plugin_hwaddr *hw = qemu_plugin_get_hwaddr(info, vaddr);
	if (hw && qemu_plugin_hwaddr_is_io(hw))
		((struct slot *)udata)->count++;
}

static bool count_io;

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	(void)id;
	size_t n = qemu_plugin_tb_n_insns(tb);
	struct slot *s = slot_for(tbs, qemu_plugin_tb_vaddr(tb), n);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &s->count, 1);
	if (!count_io)
		return;
	for (size_t i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		struct slot *io = slot_for(ios, qemu_plugin_insn_vaddr(insn), 1);
		qemu_plugin_register_vcpu_mem_cb(insn, on_mem, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW, io);
	}
}

static void write_counts(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	FILE *f = fopen(out_path, "w");
	if (!f) {
		perror(out_path);
		return;
	}
	for (uint32_t i = 0; i < SLOTS; i++) {
		if (tbs[i].count)
			fprintf(f, "tb %llx %llu %llu\n", (unsigned long long)tbs[i].vaddr,
				(unsigned long long)tbs[i].insns, (unsigned long long)tbs[i].count);
		if (ios[i].count)
			fprintf(f, "io %llx %llu\n", (unsigned long long)ios[i].vaddr,
				(unsigned long long)ios[i].count);
	}
	fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
							       int argc, char **argv)
{
	(void)info;
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4))
			out_path = argv[i] + 4;
		else if (!strcmp(argv[i], "io=on"))
			count_io = true;
		else {
			fprintf(stderr, "insnprof: unknown argument %s (out=FILE, io=on)\n", argv[i]);
			return -1;
		}
	}
	if (!out_path) {
		fprintf(stderr, "insnprof: out=FILE is required\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
	qemu_plugin_register_atexit_cb(id, write_counts, NULL);
	return 0;
}
