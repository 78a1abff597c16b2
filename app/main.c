/* The default appliance. HTTP arrives with its issue; for now the appliance
 * brings the network up and waits for the power button. */
#include "../kernel/clock.h"
#include "../kernel/cmdline.h"
#include "../kernel/log.h"
#include "../net/net.h"
#include "app.h"

void app_main(const struct cmdline *cmdline)
{
	int err = net_init(cmdline);
	if (err < 0)
		log_err("app", "network unavailable (%d)", err);
	else
		log_info("app", "network started; HTTP server not built yet");
}
