/* NIC registry and driver probing. */
#include <errno.h>

#include "drivers/e1000/e1000.h"
#include "drivers/virtio/virtio_net.h"
#include "kernel/log.h"
#include "net/netdev.h"

static struct netdev *the_dev;

int netdev_register(struct netdev *dev)
{
	if (the_dev)
		return -EBUSY;
	waitq_init(&dev->wq);
	the_dev = dev;
	log_info("net", "%s: MAC %02x:%02x:%02x:%02x:%02x:%02x, link %s", dev->name, dev->mac[0], dev->mac[1],
		 dev->mac[2], dev->mac[3], dev->mac[4], dev->mac[5], dev->link_up ? "up" : "down");
	return 0;
}

struct netdev *netdev_get(void) { return the_dev; }

void netdev_irq(struct netdev *dev)
{
	dev->stats.irqs++;
	waitq_wake_all(&dev->wq);
}

struct netdev *netdev_probe(void)
{
	/* Each probe claims its device (a PCI function or a virtio-mmio
	 * transport) and registers on success. */
	if (!the_dev)
		virtio_net_probe();
	if (!the_dev)
		e1000_probe();
	if (!the_dev)
		log_warn("net", "no supported NIC found (virtio-net on PCI or virtio-mmio, or e1000)");
	return the_dev;
}
