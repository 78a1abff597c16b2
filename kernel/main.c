/* Keel boot checklist: one call per subsystem, in dependency order. */
#include <stdint.h>

#include "app/app.h"
#include "drivers/pci/pci.h"
#include "drivers/virtio/virtio_console.h"
#include "drivers/virtio/virtio_mmio.h"
#include "http/handler/static.h"
#include "kernel/acpi.h"
#include "kernel/apic.h"
#include "kernel/boot.h"
#include "kernel/bundle.h"
#include "kernel/clock.h"
#include "kernel/cmdline.h"
#include "kernel/console.h"
#include "kernel/log.h"
#include "kernel/mm.h"
#include "kernel/random.h"
#include "kernel/sched.h"
#include "kernel/shutdown.h"
#include "kernel/trap.h"
#include "net/netdev.h"
#include "version.h"

/* Free memory the appliance needs once the kernel's page tables are
 * built. Measured on QEMU pc with virtio-net: 1656 KiB free (-m 3328K)
 * still serves /healthz with a 156 KiB lwIP budget, 1400 KiB (-m 3M)
 * cannot start the HTTP server and 376 KiB (-m 2M) cannot set up the
 * NIC; 2 MiB leaves room for a few connections. -m 4M gives 2424 KiB. */
#define MIN_FREE_KIB 2048u
#define MIN_QEMU_MIB 4u

static struct boot_info boot_info;
static uint64_t boot_free_kib;

static void cmdline_warn(void *ctx, const char *key, const char *msg)
{
	log_warn("cmdline", "%s: %s%s", key, msg, ctx ? " (a bug in its table)" : "");
}

/* `help` on the command line: every option, its value and what it takes. */
static void cmdline_help(void)
{
	const struct cmdline_option *o;
	const char *sub;
	char value[CMDLINE_VALUE_MAX], range[CMDLINE_RANGE_MAX];

	for (size_t i = 0; (o = cmdline_option_at(i, &sub)); i++) {
		cmdline_format_value(o, value, sizeof value);
		cmdline_format_range(o, range, sizeof range);
		/* Asked for: shown at every level but off. */
		klog(LOG_ERR, "cmdline", "option %s=%s (%s) [%s]: %s", o->name, value, range, sub, o->help);
	}
}

static void report_memory(void)
{
	uint64_t ram = 0;
	for (int i = 0; i < boot_info.nmem; i++)
		if (boot_info.mem[i].type == MEM_RAM)
			ram += boot_info.mem[i].len;
	extern char __kernel_phys_start[], __kernel_end[];
	boot_free_kib = pmm_free_pages() * PAGE_SIZE / 1024;
	log_info("mm", "RAM %lu KiB in %d map entries; kernel image %lu KiB; %lu KiB free after page tables",
		 ram / 1024, boot_info.nmem,
		 ((uint64_t)__kernel_end - KERNEL_BASE - (uint64_t)__kernel_phys_start) / 1024, boot_free_kib);
}

void kmain(uint32_t loader, uint64_t info_pa)
{
	console_init();                               /* serial first */
	cmdline_defaults(cmdline_warn, "");           /* every option's default, the log level's too */
	gdt_init();                                   /* TSS with IST stacks, before the IDT uses them */
	trap_init();                                  /* from here on faults are reported, not silent */
	boot_info_parse(&boot_info, loader, info_pa); /* copy loader data before memory is reused */
	cmdline_parse(boot_info.cmdline, cmdline_warn, NULL); /* each subsystem's options, the log level early */
	pmm_init(&boot_info); /* physical pages, from the loader's memory map; never the bundle's */
	vmm_init(&boot_info); /* final page tables; the identity map and page 0 go */
	report_memory();
	bundle_init(&boot_info); /* the boot bundle: needs the final direct map (it may lie past 1 GiB) */
	/* Options are defaults < the bundle's cmdline < the loader's. The
	 * bundle is readable only now, so the loader's line, applied above
	 * for the early log level, goes again on top (quietly: it warned). */
	cmdline_parse(bundle_cmdline(), cmdline_warn, NULL); /* the bundle's options */
	cmdline_parse(boot_info.cmdline, NULL, NULL);        /* the loader's again: they win */
	if (cmdline_wants_help(boot_info.cmdline) || cmdline_wants_help(bundle_cmdline()))
		cmdline_help();
	http_static_use_bundle(); /* the bundle's site/, if any, replaces the embedded site */
	acpi_init(boot_info.rsdp); /* MADT and FADT, needed by the APIC and power code */
	/* Checked once ACPI can power off: too little memory fails later, obscurely. */
	if (boot_free_kib < MIN_FREE_KIB)
		shutdown_fatal("too little memory: %lu KiB free after the kernel, %u KiB needed (QEMU: -m %uM or more)",
			       boot_free_kib, MIN_FREE_KIB, MIN_QEMU_MIB);
	apic_init();               /* local APIC + IOAPICs; legacy PIC masked */
	clock_init();              /* TSC/APIC timer calibration, RTC wall clock */
	uint64_t up = clock_now();
	log_info("kernel", "Keel %s booted via %s in %lu.%lu ms since power-on; cmdline \"%s\"", KEEL_VERSION,
		 boot_info.loader, up / NSEC_PER_MSEC, up / 100000 % 10, boot_info.cmdline);
	sched_init();    /* this context becomes the idle task */
	log_start();     /* the log task: lines queue from its first run on */
	shutdown_init(); /* power button -> hooks -> S5 */
	pci_init();      /* enumerate devices for the drivers */
	virtio_mmio_init(); /* virtio-mmio transports: the DSDT's, virtio_mmio.device= */
	virtio_console_probe(); /* a virtio console, if any, takes the log */
	random_init();   /* entropy: RDSEED/RDRAND, virtio-rng; seeds the DRBG TLS uses */
	netdev_probe();  /* first supported NIC: virtio-net, then e1000 */
	app_main();      /* the appliance (or test image): net_init, its tasks */
	sched_run();     /* idle loop: never returns */
}
