# lwIP's IPv4/TCP core as Keel builds it from the Debian source package
# (no sockets, no netconn, no IPv6 yet): paths under lwIP's src/. The one
# list for the kernel (Makefile) and the host test of net/conn.c
# (tests/host/host.mk).
LWIP_SRCS := $(addprefix core/,def.c inet_chksum.c init.c ip.c mem.c memp.c netif.c pbuf.c \
	stats.c sys.c tcp.c tcp_in.c tcp_out.c timeouts.c udp.c \
	ipv4/dhcp.c ipv4/etharp.c ipv4/icmp.c ipv4/ip4.c ipv4/ip4_addr.c ipv4/ip4_frag.c) \
	netif/ethernet.c
