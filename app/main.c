/* The default appliance. Networking and HTTP arrive with their issues; for
 * now the appliance reports that the kernel is up and waits for the power
 * button. */
#include "../kernel/cmdline.h"
#include "../kernel/log.h"
#include "app.h"

void app_main(const struct cmdline *cmdline)
{
	(void)cmdline;
	log_info("app", "ready (no network driver yet); power off with the ACPI power button");
}
